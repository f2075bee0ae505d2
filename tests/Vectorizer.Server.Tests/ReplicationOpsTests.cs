using System.Text;
using System.Text.Json;
using Vectorizer.Server.Tests.Failover;
using Vectorizer.Tests;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Operating replication, with real processes on 127.0.0.1: <c>vectorizer replication status|promote|checksum</c>
/// against a master and a replica, the replication metrics on <c>/metrics</c> (the same numbers as the status
/// endpoint), the stream refused without the group's <c>replication.auth_token</c>, and the etcd leadership
/// details of <c>role: auto</c> nodes (real etcd).
/// </summary>
[Trait("Category", "Slow")]
public sealed class ReplicationOpsTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Token = "group-secret-0123456789abcdef";
    private const string ApiKey = "admin-key-0123456789abcdef0123456789";
    private readonly List<ReplicationNode> nodes = [];
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in nodes)
        {
            await node.DisposeAsync();
        }

        http.Dispose();
    }

    [Fact]
    public async Task CliShowsStatusAndChecksumsPromotesAReplicaAndMetricsMatchTheStatus()
    {
        var master = await StartAsync("m", "  role: master\n  write_concern: one\n");
        var replica = await StartAsync("r1", $"  role: replica\n  master_address: \"127.0.0.1:{master.ReplicationPort}\"\n  reconnect_interval_secs: 1\n");
        await SendAsync(master, HttpMethod.Put, "/collections/docs", """{"vectors": {"size": 2, "distance": "Dot"}}""");
        for (var i = 0; i < 5; i++)
        {
            await SendAsync(master, HttpMethod.Put, "/collections/docs/points?wait=true", $$"""{"points": [{"id": {{i}}, "vector": [1, {{i}}]}]}""");
        }

        await CaughtUpAsync(master, "r1");

        // status: a readable table, the replica's row, and --json as the endpoint's document.
        var (code, stdout, stderr) = await VectorizerProcess.RunSplitAsync("replication", "status", "--url", master.Url);
        Assert.True(code == 0, stderr);
        Assert.Contains("role:                 master", stdout, StringComparison.Ordinal);
        Assert.Contains("leadership:           static", stdout, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^r1\s+yes\s+\d+\s+0\s+0 s\s", stdout);
        (code, stdout, stderr) = await VectorizerProcess.RunSplitAsync("replication", "status", "--url", master.Url, "--json");
        Assert.True(code == 0, stderr);
        var status = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("master", status.GetProperty("role").GetString());
        Assert.Equal("static", status.GetProperty("leadership").GetProperty("mode").GetString());
        Assert.True(status.GetProperty("totals").GetProperty("write_concern_waits").GetInt64() >= 5);

        (code, stdout, stderr) = await VectorizerProcess.RunSplitAsync("replication", "status", "--url", replica.Url);
        Assert.True(code == 0, stderr);
        Assert.Contains("role:                 replica", stdout, StringComparison.Ordinal);
        Assert.Contains("connected to master:  yes", stdout, StringComparison.Ordinal);

        // checksum: the same on both nodes.
        var (_, onMaster, _) = await VectorizerProcess.RunSplitAsync("replication", "checksum", "--url", master.Url);
        var (_, onReplica, _) = await VectorizerProcess.RunSplitAsync("replication", "checksum", "--url", replica.Url);
        Assert.Contains("docs", onMaster, StringComparison.Ordinal);
        Assert.Equal(onMaster, onReplica);

        // Metrics: the status's numbers, from the same report.
        var masterStatus = await StatusAsync(master);
        var exposition = await http.GetStringAsync(master.Url + "/metrics");
        var samples = MetricsTests.Samples(exposition);
        if (Prerequisites.Check(Need.Prometheus) is null)
        {
            // Prometheus's linter has nothing to say about the replication metrics (names, units, counter suffixes).
            var (_, lint) = await MetricsTests.RunAsync("promtool", ["check", "metrics"], exposition);
            Assert.DoesNotContain("vectorizer_replication", lint, StringComparison.Ordinal);
        }

        Assert.Equal(1, Value(samples, "vectorizer_replication_role", ("role", "master")));
        Assert.Equal(0, Value(samples, "vectorizer_replication_role", ("role", "replica")));
        Assert.Equal(masterStatus.GetProperty("epoch").GetInt64(), Value(samples, "vectorizer_replication_epoch"));
        Assert.Equal(masterStatus.GetProperty("applied_position").GetInt64(), Value(samples, "vectorizer_replication_applied_position"));
        Assert.Equal(masterStatus.GetProperty("acknowledged_position").GetInt64(), Value(samples, "vectorizer_replication_acknowledged_position"));
        Assert.Equal(1, Value(samples, "vectorizer_replication_connected_replicas"));
        Assert.Equal(0, Value(samples, "vectorizer_replication_replica_lag_operations", ("replica", "r1")));
        Assert.Equal(0, Value(samples, "vectorizer_replication_replica_lag_seconds", ("replica", "r1")));
        Assert.True(Value(samples, "vectorizer_replication_replica_heartbeat_age_seconds", ("replica", "r1")) < 10);
        Assert.Equal(
            masterStatus.GetProperty("totals").GetProperty("full_resyncs_served").GetInt64() + masterStatus.GetProperty("totals").GetProperty("partial_resyncs_served").GetInt64(),
            samples.Where(s => s.Name == "vectorizer_replication_resyncs_total" && s.Labels["direction"] == "served").Sum(s => s.Value));
        Assert.True(Value(samples, "vectorizer_replication_write_concern_waits_total") >= 5);
        Assert.Equal(0, Value(samples, "vectorizer_replication_write_concern_failures_total"));

        var replicaSamples = MetricsTests.Samples(await http.GetStringAsync(replica.Url + "/metrics"));
        Assert.Equal(1, Value(replicaSamples, "vectorizer_replication_role", ("role", "replica")));
        Assert.Equal(1, Value(replicaSamples, "vectorizer_replication_master_connected"));
        Assert.Equal(0, Value(replicaSamples, "vectorizer_replication_master_lag_operations"));
        Assert.Equal(masterStatus.GetProperty("applied_position").GetInt64(), Value(replicaSamples, "vectorizer_replication_applied_position"));
        Assert.Equal(1, replicaSamples.Where(s => s.Name == "vectorizer_replication_resyncs_total" && s.Labels["direction"] == "received").Sum(s => s.Value));

        // A write the replica cannot acknowledge moves the failure counter.
        replica.Process!.Kill();
        await SendAsync(master, HttpMethod.Put, "/collections/docs/points?wait=true", """{"points": [{"id": 99, "vector": [1, 1]}]}""", allowFailure: true);
        samples = MetricsTests.Samples(await http.GetStringAsync(master.Url + "/metrics"));
        Assert.Equal(1, Value(samples, "vectorizer_replication_write_concern_failures_total"));
        Assert.Equal(0, Value(samples, "vectorizer_replication_connected_replicas"));

        // promote: the (restarted) replica becomes master in a new epoch.
        replica = await StartAsync("r1", $"  role: replica\n  master_address: \"127.0.0.1:{master.ReplicationPort}\"\n  reconnect_interval_secs: 1\n", replica);
        var epoch = (await StatusAsync(replica)).GetProperty("epoch").GetInt64();
        (code, stdout, stderr) = await VectorizerProcess.RunSplitAsync("replication", "promote", "--url", replica.Url);
        Assert.True(code == 0, stderr);
        Assert.Contains("promoted: r1 is the master in epoch " + (epoch + 1), stdout, StringComparison.Ordinal);
        Assert.Equal("master", (await StatusAsync(replica)).GetProperty("role").GetString());

        // Errors: unreachable (2), not a replication node (1), with a clear line and no stack trace.
        (code, _, stderr) = await VectorizerProcess.RunSplitAsync("replication", "status", "--url", $"http://127.0.0.1:{TestPorts.Free()}");
        Assert.Equal(2, code);
        Assert.Contains("error: cannot reach the server at", stderr, StringComparison.Ordinal);
        await using var plain = await VectorizerProcess.StartAsync(TestPaths.NewDirectory("plain"));
        (code, _, stderr) = await VectorizerProcess.RunSplitAsync("replication", "status", "--url", plain.Url);
        Assert.Equal(1, code);
        Assert.Contains("replication is not enabled on this node", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithAuthTheStreamNeedsTheGroupsTokenAndTheCliTheApiKey()
    {
        // auth.enabled without replication.auth_token is refused at startup.
        var dir = TestPaths.NewDirectory("replication-auth-config");
        var config = Path.Combine(dir, "config.yml");
        await File.WriteAllTextAsync(config, $"auth:\n  enabled: true\n  api_key: \"{ApiKey}\"\nreplication:\n  enabled: true\n  role: master\n");
        var (code, validation) = await VectorizerProcess.RunAsync("config", "validate", "--config", config);
        Assert.Equal(1, code);
        Assert.Contains("replication.auth_token", validation, StringComparison.Ordinal);
        await File.WriteAllTextAsync(config, "replication:\n  enabled: true\n  role: master\n  auth_token: short\n");
        (code, validation) = await VectorizerProcess.RunAsync("config", "validate", "--config", config);
        Assert.Equal(1, code);
        Assert.Contains("at least 16 characters", validation, StringComparison.Ordinal);

        var auth = $"auth:\n  enabled: true\n  api_key: \"{ApiKey}\"\n";
        var master = await StartAsync("m", $"  role: master\n  auth_token: \"{Token}\"\n", top: auth);
        var follow = $"  role: replica\n  master_address: \"127.0.0.1:{master.ReplicationPort}\"\n  reconnect_interval_secs: 1\n";
        var good = await StartAsync("good", follow + $"  auth_token: \"{Token}\"\n", top: auth);
        var none = await StartAsync("none", follow);
        var wrong = await StartAsync("wrong", follow + "  auth_token: \"not-the-group-secret-at-all\"\n");
        await SendAsync(master, HttpMethod.Put, "/collections/docs", """{"vectors": {"size": 2, "distance": "Dot"}}""");
        await SendAsync(master, HttpMethod.Put, "/collections/docs/points?wait=true", """{"points": [{"id": 1, "vector": [1, 2]}]}""");
        await CaughtUpAsync(master, "good");

        var lastErrors = await WaitAsync(async () =>
        {
            var n = (await StatusAsync(none)).GetProperty("replica").GetProperty("last_error").GetString();
            var w = (await StatusAsync(wrong)).GetProperty("replica").GetProperty("last_error").GetString();
            return n is not null && w is not null ? (n, w) : default((string, string)?);
        });
        Assert.StartsWith("Unauthenticated: this master requires a replication token", lastErrors.Item1, StringComparison.Ordinal);
        Assert.StartsWith("PermissionDenied: the replication token does not match", lastErrors.Item2, StringComparison.Ordinal);
        var status = await StatusAsync(master);
        Assert.Equal(["good"], status.GetProperty("replicas").EnumerateArray().Select(r => r.GetProperty("node_id").GetString()!).ToArray());
        Assert.True(status.GetProperty("totals").GetProperty("streams_refused").GetInt64() >= 2);
        Assert.Contains("refused a stream from", master.Process!.Output, StringComparison.Ordinal);
        Assert.Equal(0, (await StatusAsync(none)).GetProperty("applied_position").GetInt64());
        Assert.Equal(0, (await CountAsync(wrong)));

        // The CLI: refused without a key (exit 2), answered with --api-key or VECTORIZER_API_KEY.
        (code, _, var stderr) = await VectorizerProcess.RunSplitAsync("replication", "status", "--url", master.Url);
        Assert.Equal(2, code);
        Assert.Contains("refused the request (401", stderr, StringComparison.Ordinal);
        (code, var stdout, stderr) = await VectorizerProcess.RunSplitAsync("replication", "status", "--url", master.Url, "--api-key", ApiKey);
        Assert.True(code == 0, stderr);
        Assert.Contains("good", stdout, StringComparison.Ordinal);
        (code, _, stderr) = await VectorizerProcess.RunSplitInAsync(null, new Dictionary<string, string> { ["VECTORIZER_API_KEY"] = ApiKey }, "replication", "checksum", "--url", master.Url);
        Assert.True(code == 0, stderr);
    }

    [SkippableFact]
    public async Task AutoRoleStatusShowsTheEtcdLeadership()
    {
        Prerequisites.Require(Need.Etcd);
        await using var etcd = await EtcdServer.StartAsync();
        await using var cluster = new FailoverTests.AutoCluster(etcd.Endpoint, output);
        await cluster.StartAllAsync();
        var master = await cluster.WaitForMasterAsync(TimeSpan.FromSeconds(30));
        await cluster.WaitForReplicasAsync(2, TimeSpan.FromSeconds(30));

        var status = JsonDocument.Parse(await http.GetStringAsync(master.Url + "/api/replication/status")).RootElement;
        var leadership = status.GetProperty("leadership");
        Assert.Equal("etcd", leadership.GetProperty("mode").GetString());
        Assert.Equal([etcd.Endpoint], leadership.GetProperty("etcd_endpoints").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Equal("/vectorizer/leader", leadership.GetProperty("leader_key").GetString());
        Assert.False(string.IsNullOrEmpty(leadership.GetProperty("lease_id").GetString()));
        Assert.True(leadership.GetProperty("lease_alive").GetBoolean());
        Assert.True(leadership.GetProperty("is_leader").GetBoolean());
        Assert.False(leadership.GetProperty("fenced").GetBoolean());
        Assert.Equal(master.Id, leadership.GetProperty("leader").GetString());
        Assert.Equal(status.GetProperty("epoch").GetInt64(), leadership.GetProperty("leader_epoch").GetInt64());
        Assert.Equal("elected", leadership.GetProperty("last_election").GetProperty("outcome").GetString());

        var replica = cluster.Nodes.First(n => n != master);
        var replicaLeadership = JsonDocument.Parse(await http.GetStringAsync(replica.Url + "/api/replication/status")).RootElement.GetProperty("leadership");
        Assert.Equal(master.Id, replicaLeadership.GetProperty("leader").GetString());
        Assert.False(replicaLeadership.GetProperty("is_leader").GetBoolean());
        Assert.Equal("following", replicaLeadership.GetProperty("last_election").GetProperty("outcome").GetString());

        var (code, stdout, stderr) = await VectorizerProcess.RunSplitAsync("replication", "status", "--url", master.Url);
        Assert.True(code == 0, stderr);
        Assert.Contains("leader key:", stdout, StringComparison.Ordinal);
        Assert.Contains("last election:", stdout, StringComparison.Ordinal);

        var samples = MetricsTests.Samples(await http.GetStringAsync(master.Url + "/metrics"));
        Assert.Equal(1, Value(samples, "vectorizer_replication_leader"));
        Assert.Equal(1, Value(samples, "vectorizer_replication_lease_alive"));
    }

    // ------------------------------------------------------------------ helpers

    private static double Value(List<MetricsTests.Sample> samples, string name, params (string Key, string Value)[] labels)
    {
        var match = samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToList();
        Assert.True(match.Count == 1, $"{name} {string.Join(",", labels)}: {match.Count} samples; have {string.Join(", ", samples.Where(s => s.Name.StartsWith("vectorizer_replication", StringComparison.Ordinal)).Select(s => s.Name))}");
        return match[0].Value;
    }

    /// <summary>Starts a node (or restarts <paramref name="again"/> on its ports and data); <paramref name="top"/> is extra top-level YAML.</summary>
    private async Task<ReplicationNode> StartAsync(string id, string replication, ReplicationNode? again = null, string top = "")
    {
        replication = "  replica_timeout_secs: 2\n" + replication;
        if (again is not null)
        {
            await again.RestartAsync(replication, top);
            return again;
        }

        var node = await ReplicationNode.StartAsync("replication-ops-", id, replication, top);
        nodes.Add(node);
        return node;
    }

    private HttpRequestMessage Request(ReplicationNode node, HttpMethod method, string path, string? body)
    {
        var request = new HttpRequestMessage(method, node.Url + path) { Content = body is null ? null : new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("api-key", ApiKey);
        return request;
    }

    private async Task SendAsync(ReplicationNode node, HttpMethod method, string path, string body, bool allowFailure = false)
    {
        using var response = await http.SendAsync(Request(node, method, path, body));
        Assert.True(allowFailure || response.IsSuccessStatusCode, $"{method} {path} on {node.Id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private async Task<JsonElement> StatusAsync(ReplicationNode node)
    {
        using var response = await http.SendAsync(Request(node, HttpMethod.Get, "/api/replication/status", null));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"status of {node.Id}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<long> CountAsync(ReplicationNode node)
    {
        using var response = await http.SendAsync(Request(node, HttpMethod.Get, "/collections", null));
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("result").GetProperty("collections").GetArrayLength();
    }

    /// <summary>Until the master lists <paramref name="replica"/> connected with nothing left to acknowledge.</summary>
    private Task CaughtUpAsync(ReplicationNode master, string replica) => WaitAsync(async () =>
    {
        var status = await StatusAsync(master);
        return status.GetProperty("replicas").EnumerateArray().Any(r => r.GetProperty("node_id").GetString() == replica && r.GetProperty("connected").GetBoolean() && r.GetProperty("lag_operations").GetInt64() == 0)
            ? true
            : default(bool?);
    });

    private static async Task<T> WaitAsync<T>(Func<Task<T?>> probe)
        where T : struct
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, "timed out waiting");
            await Task.Delay(200);
        }
    }
}
