using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Replication.Leadership;

/// <summary>
/// The <c>cluster.etcd:</c> section: where leadership is decided for <c>replication.role: auto</c> (automatic
/// failover). A property of the <c>cluster</c> section; without endpoints roles are static.
/// </summary>
public sealed class EtcdSection
{
    /// <summary>etcd's client URLs (<c>http://host:2379</c>); empty: no etcd, roles are static.</summary>
    public List<string> Endpoints { get; set; } = [];

    /// <summary>
    /// The lease every node holds: a master whose lease lapses (dead, or cut off from etcd) is replaced after about
    /// this long, and stops taking writes before it lapses.
    /// </summary>
    [ConfigurationKeyName("lease_ttl_secs")]
    public int LeaseTtlSecs { get; set; } = 5;

    /// <summary>The key prefix of this cluster in etcd (several clusters can share one etcd).</summary>
    public string Prefix { get; set; } = "/vectorizer";

    public bool Enabled => Endpoints.Count > 0;
}

/// <summary>Checks <c>cluster.etcd</c>; keys are named relative to <c>cluster</c> (<c>etcd.endpoints[0]</c>).</summary>
public sealed partial class EtcdValidator : SectionValidator<EtcdSection>
{
    public override IEnumerable<(string Key, string Message)> Check(EtcdSection s)
    {
        for (var i = 0; i < s.Endpoints.Count; i++)
        {
            if (!(Uri.TryCreate(s.Endpoints[i], UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0 && uri.Port > 0))
            {
                yield return ($"etcd.endpoints[{i}]", $"`{s.Endpoints[i]}` is not an etcd client URL, like http://127.0.0.1:2379");
            }
        }

        // etcd refuses leases shorter than about 2 s; past a minute a dead master goes unnoticed too long.
        if (s.LeaseTtlSecs is < 2 or > 60)
        {
            yield return ("etcd.lease_ttl_secs", $"{s.LeaseTtlSecs} is out of range (2-60 seconds)");
        }

        if (!PrefixPattern().IsMatch(s.Prefix))
        {
            yield return ("etcd.prefix", $"`{s.Prefix}` is not a key prefix (`/`, then letters, digits, `/`, `.`, `_` or `-`)");
        }
    }

    [GeneratedRegex("^/[A-Za-z0-9/._-]{0,200}$")]
    private static partial Regex PrefixPattern();
}
