using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Hosting;

namespace Vectorizer.Server.Replication.Leadership;

/// <summary>
/// Runs <see cref="EtcdLeadership"/> in the host (<c>replication.role: auto</c>): started once the engine has loaded
/// (the node's position is known then), and on a graceful stop it resigns — stops taking writes and revokes its lease,
/// so the peers elect a new master at once instead of after <c>lease_ttl_secs</c>.
/// </summary>
public sealed class LeadershipService(EtcdLeadership leadership, IServiceProvider services) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            // The replication manager starts beside this service: it must have read its log position first.
            while (services.GetService<ReplicationManager>() is { Started: false })
            {
                await Task.Delay(50, stoppingToken).ConfigureAwait(false);
            }

            await leadership.RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await leadership.ResignAsync(cancellationToken).ConfigureAwait(false);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// <c>replication.role: auto</c> and <c>cluster.etcd</c> go together: one without the other is refused at startup
/// (a cross-section rule, so not in either section's validator).
/// </summary>
public static class AutoRoleRule
{
    public static IEnumerable<ConfigIssue> Check(VectorizerSettings settings)
    {
        var auto = settings.Replication.Enabled && settings.Replication.Role == "auto";
        if (auto && !settings.Cluster.Etcd.Enabled)
        {
            yield return new ConfigIssue("cluster.etcd.endpoints", "replication.role: auto needs etcd to decide leadership; list its client URLs (http://host:2379)");
        }
        else if (!auto && settings.Cluster.Etcd.Enabled)
        {
            yield return new ConfigIssue("cluster.etcd", "etcd decides leadership only with replication.enabled: true and replication.role: auto; remove cluster.etcd or set the role");
        }

        if (auto && ReplicationSection.ParseEndpoint(settings.Replication.BindAddress) is { Port: 0 })
        {
            yield return new ConfigIssue("replication.bind_address", "role: auto publishes this address to the other nodes: give it a fixed port");
        }

        if (auto && settings.Cluster.AdvertiseAddress.Length == 0 && settings.Server.Port == 0)
        {
            yield return new ConfigIssue("cluster.advertise_address", "role: auto publishes this node's REST address: set it (or a fixed server.port)");
        }
    }
}

public static class LeadershipHosting
{
    /// <summary>With <c>replication.role: auto</c>: the etcd leadership service, started once the engine has loaded.</summary>
    public static IServiceCollection AddLeadership(this IServiceCollection services, VectorizerSettings settings)
    {
        if (!(settings.Replication.Enabled && settings.Replication.Role == "auto"))
        {
            return services;
        }

        var http = settings.Cluster.AdvertiseAddress.Length > 0
            ? settings.Cluster.AdvertiseAddress
            : $"http://{settings.Server.Host}:{settings.Server.Port}";
        var bind = ReplicationSection.ParseEndpoint(settings.Replication.BindAddress)!.Value;
        // A wildcard bind address is not an address to dial: the advertised host with the replication port is.
        var host = bind.Host is "0.0.0.0" or "::" or "*" or "+" ? new Uri(http).Host : bind.Host;
        services.AddSingleton(provider =>
        {
            var control = provider.GetRequiredService<IReplicationControl>();
            var logger = provider.GetRequiredService<ILoggerFactory>().CreateLogger("Vectorizer.Leadership");
            var leadership = new EtcdLeadership(settings.Cluster.Etcd, new LeadershipIdentity(control.NodeId, http, $"{host}:{bind.Port}"), control, logger);
            if (control is ReplicationManager manager)
            {
                manager.Leadership = leadership; // status and metrics report it
            }

            return leadership;
        });
        services.AddSingleton<LeadershipService>();
        services.AddHostedServiceAfterEngine<LeadershipService>();
        return services;
    }
}
