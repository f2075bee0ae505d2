using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Vectorizer.Server.Security;

namespace Vectorizer.Cli;

/// <summary>
/// <c>vectorizer replication status|promote|checksum</c>: a running node's <c>/api/replication/*</c>, over HTTP. The
/// URL is <c>--url</c>, else the configuration's <c>server.host:port</c>; the API key is <c>--api-key</c>, else
/// <c>VECTORIZER_API_KEY</c>, else the configuration's <c>auth.api_key</c>. Exit 0: done; 1: the server answered with
/// an error (replication off, a refused promotion); 2: unreachable, refused credentials, or a usage error.
/// </summary>
internal static class ReplicationCommand
{
    private static readonly Option<string?> UrlOption = new("--url") { Description = "The node's REST URL (default: from the configuration, http://host:port)" };
    private static readonly Option<string?> ApiKeyOption = new("--api-key") { Description = "The API key or JWT to send (default: $VECTORIZER_API_KEY, else auth.api_key of the configuration)" };
    private static readonly Option<bool> JsonOption = new("--json") { Description = "Print the server's JSON document as it is" };

    public static Command Create(Option<string?> configOption)
    {
        var command = new Command("replication", "Inspect or drive a running node's replication (status, promote, checksum)");
        var status = new Command("status", "Role, epoch, master, positions, per-replica lag and heartbeats, leadership (GET /api/replication/status)");
        var promote = new Command("promote", "Make this node the master now, in a new epoch (POST /api/replication/promote); with role: auto etcd decides instead");
        var checksum = new Command("checksum", "Per-collection checksums over every point (GET /api/replication/checksum): equal on nodes holding the same data");
        foreach (var c in new[] { status, promote, checksum })
        {
            c.Add(configOption);
            c.Add(UrlOption);
            c.Add(ApiKeyOption);
            c.Add(JsonOption);
            command.Add(c);
        }

        status.SetAction((parse, cancellationToken) => RunAsync(parse, configOption, HttpMethod.Get, "/api/replication/status", PrintStatus, cancellationToken));
        promote.SetAction((parse, cancellationToken) => RunAsync(parse, configOption, HttpMethod.Post, "/api/replication/promote", doc =>
        {
            Console.WriteLine($"promoted: {Text(doc, "node_id")} is the {Text(doc, "role")} in epoch {doc.GetProperty("epoch").GetInt64()} at position {doc.GetProperty("applied_position").GetInt64()}");
            if (doc.TryGetProperty("leadership", out var leadership) && Text(leadership, "mode") == "etcd")
            {
                Console.WriteLine("note: this node's leadership is decided by etcd (role: auto); it follows the elected master again at the next election");
            }
        }, cancellationToken));
        checksum.SetAction((parse, cancellationToken) => RunAsync(parse, configOption, HttpMethod.Get, "/api/replication/checksum", PrintChecksum, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, Option<string?> configOption, HttpMethod method, string path, Action<JsonElement> print, CancellationToken cancellationToken)
    {
        var url = parse.GetValue(UrlOption);
        var apiKey = parse.GetValue(ApiKeyOption) is { Length: > 0 } flag ? flag : Environment.GetEnvironmentVariable("VECTORIZER_API_KEY");
        if (url is null || string.IsNullOrEmpty(apiKey))
        {
            if (!VectorizerCli.TryLoad(parse.GetValue(configOption), null, out var settings, out _))
            {
                return 2;
            }

            var host = settings.Server.Host is "0.0.0.0" or "::" or "*" ? "127.0.0.1" : settings.Server.Host;
            url ??= $"{(settings.Server.Tls.Enabled ? "https" : "http")}://{host}:{settings.Server.Port}";
            apiKey = string.IsNullOrEmpty(apiKey) ? settings.Auth.ApiKey : apiKey;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
        {
            Console.Error.WriteLine($"error: `{url}` is not an http(s) URL such as http://127.0.0.1:15002");
            return 2;
        }

        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
        if (!string.IsNullOrEmpty(apiKey))
        {
            http.DefaultRequestHeaders.Add(Authenticator.ApiKeyHeader, apiKey);
        }

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(new HttpRequestMessage(method, path), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine($"error: cannot reach the server at {url}: {(e is TaskCanceledException ? "no answer within 30 s" : e.Message)}");
            return 2;
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            JsonElement body;
            try
            {
                body = JsonDocument.Parse(text).RootElement.Clone();
            }
            catch (JsonException)
            {
                Console.Error.WriteLine($"error: the server at {url} answered {(int)response.StatusCode} without a JSON body (is it a Vectorizer node?)");
                return 2;
            }

            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                Console.Error.WriteLine($"error: the server at {url} refused the request ({(int)response.StatusCode}: {ErrorOf(body)}): pass --api-key or set VECTORIZER_API_KEY"
                    + (method == HttpMethod.Post ? " (promote needs a full-access key)" : ""));
                return 2;
            }

            if (!response.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"error: {ErrorOf(body)}");
                return 1;
            }

            if (parse.GetValue(JsonOption))
            {
                Console.WriteLine(text.TrimEnd());
            }
            else
            {
                print(body);
            }

            return 0;
        }
    }

    private static string ErrorOf(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.Object && status.TryGetProperty("error", out var error)
            ? error.GetString() ?? body.ToString()
            : body.ToString();

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Null => "-",
            _ => value.GetRawText(),
        } : "-";

    private static string Age(JsonElement element, string name) =>
        element.TryGetProperty(name + "_age_seconds", out var age) ? string.Create(CultureInfo.InvariantCulture, $"{age.GetDouble():0.0} s ago") : "never";

    private static string Seconds(JsonElement element, string name)
    {
        var value = element.GetProperty(name).GetDouble();
        return value < 0 ? "left the log" : string.Create(CultureInfo.InvariantCulture, $"{value:0.###} s");
    }

    private static void PrintStatus(JsonElement s)
    {
        var lines = new StringBuilder();
        void Line(string label, string value) => lines.AppendLine(CultureInfo.InvariantCulture, $"{label + ":",-22}{value}");
        Line("role", Text(s, "role"));
        Line("node", Text(s, "node_id"));
        Line("epoch", Text(s, "epoch"));
        Line("master", $"{Text(s, "master")} (REST {Text(s, "master_advertise_address")}{(s.TryGetProperty("master_address", out var ma) && ma.ValueKind == JsonValueKind.String ? ", stream " + ma.GetString() : "")})");
        Line("applied position", $"{Text(s, "applied_position")} (epoch {Text(s, "applied_epoch")}; log from {Text(s, "log_oldest_position")})");
        Line("acknowledged", Text(s, "acknowledged_position"));
        Line("write concern", Text(s, "write_concern"));
        if (s.TryGetProperty("replica", out var follower) && follower.ValueKind == JsonValueKind.Object)
        {
            Line("connected to master", follower.GetProperty("connected").GetBoolean() ? "yes" : "no");
            Line("lag", $"{Text(follower, "lag_operations")} operations, {Seconds(follower, "lag_seconds")} (master at {Text(follower, "master_position")})");
            Line("last heartbeat", Age(follower, "last_heartbeat"));
            Line("resyncs", $"{Text(follower, "full_resyncs")} full, {Text(follower, "partial_resyncs")} partial");
            if (follower.TryGetProperty("last_error", out var error) && error.ValueKind == JsonValueKind.String)
            {
                Line("last error", error.GetString()!);
            }
        }

        if (s.TryGetProperty("leadership", out var leadership))
        {
            var mode = Text(leadership, "mode");
            Line("leadership", mode + (leadership.GetProperty("fenced").GetBoolean() ? " (FENCED: takes no writes, follows no master)" : ""));
            if (mode == "etcd")
            {
                Line("  etcd", string.Join(", ", leadership.GetProperty("etcd_endpoints").EnumerateArray().Select(e => e.GetString())));
                Line("  leader key", Text(leadership, "leader_key"));
                Line("  leader", $"{Text(leadership, "leader")} (epoch {Text(leadership, "leader_epoch")} = the key's create revision){(leadership.GetProperty("is_leader").GetBoolean() ? ": this node" : "")}");
                Line("  lease", $"{Text(leadership, "lease_id")}, ttl {Text(leadership, "lease_ttl_secs")} s, {(leadership.GetProperty("lease_alive").GetBoolean() ? "alive" : "NOT alive")}; etcd {(leadership.GetProperty("etcd_reachable").GetBoolean() ? "reachable" : "UNREACHABLE")}");
                if (leadership.TryGetProperty("last_election", out var election) && election.ValueKind == JsonValueKind.Object)
                {
                    Line("  last election", $"{Text(election, "outcome")} at epoch {Text(election, "epoch")}, {Age(election, "at")}: {Text(election, "detail")}");
                }
            }
        }

        var replicas = s.GetProperty("replicas");
        if (replicas.GetArrayLength() > 0)
        {
            lines.AppendLine();
            lines.AppendLine(CultureInfo.InvariantCulture, $"{"REPLICA",-20} {"CONNECTED",-9} {"ACKED",12} {"LAG OPS",10} {"LAG",12} {"HEARTBEAT",14} {"RESYNCS F/P",11}");
            foreach (var r in replicas.EnumerateArray())
            {
                lines.AppendLine(CultureInfo.InvariantCulture,
                    $"{Text(r, "node_id"),-20} {(r.GetProperty("connected").GetBoolean() ? "yes" : "no"),-9} {Text(r, "acknowledged_position"),12} {Text(r, "lag_operations"),10} {Seconds(r, "lag_seconds"),12} {Age(r, "last_heartbeat"),14} {Text(r, "full_resyncs") + "/" + Text(r, "partial_resyncs"),11}");
            }
        }
        else if (Text(s, "role") == "master")
        {
            lines.AppendLine();
            lines.AppendLine("no replica has connected since this node became master");
        }

        Console.Write(lines.ToString());
    }

    private static void PrintChecksum(JsonElement doc)
    {
        foreach (var collection in doc.GetProperty("collections").EnumerateObject())
        {
            Console.WriteLine($"{collection.Name,-32} {collection.Value.GetProperty("points").GetInt64(),12} points  {collection.Value.GetProperty("checksum").GetString()}");
        }

        Console.WriteLine($"{"(aliases)",-32} {"",12}         {doc.GetProperty("aliases").GetString()}");
    }
}
