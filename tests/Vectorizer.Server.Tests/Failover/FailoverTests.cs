using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Vectorizer.Tests;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests.Failover;

/// <summary>
/// Automatic failover end to end: a real etcd and three real <c>vectorizer serve</c> processes with
/// <c>replication.role: auto</c>, <c>write_concern: majority</c>, killed with SIGKILL or cut off from etcd by a
/// <see cref="TcpProxy"/>.
/// </summary>
[Trait("Category", "Slow")]
public sealed class FailoverTests(ITestOutputHelper output)
{
    private const int Ttl = 2;

    [SkippableFact]
    public async Task KillingTheMasterDuringMajorityWritesElectsANewOneInTimeLosesNoAcknowledgedWriteAndTheOldOneRejoins()
    {
        Prerequisites.Require(Need.Etcd);
        await using var etcd = await EtcdServer.StartAsync();
        await using var cluster = new AutoCluster(etcd.Endpoint, output);
        await cluster.StartAllAsync();
        var master = await cluster.WaitForMasterAsync(TimeSpan.FromSeconds(30));
        await cluster.WaitForReplicasAsync(2, TimeSpan.FromSeconds(30));
        await cluster.CreateCollectionAsync(master, "failover");

        using var writes = new WriteStream(cluster, "failover", output);
        await writes.WaitForAcknowledgedAsync(100, TimeSpan.FromSeconds(60));
        var clock = Stopwatch.StartNew();
        master.Kill();
        var next = await cluster.WaitForMasterAsync(TimeSpan.FromSeconds(4 * Ttl), except: master);
        var failover = clock.Elapsed;
        output.WriteLine($"{next.Id} is master {failover.TotalSeconds:F2} s after {master.Id} was killed (lease_ttl_secs {Ttl})");
        Assert.True(failover < TimeSpan.FromSeconds(2 * Ttl), $"failover took {failover.TotalSeconds:F2} s, over 2 x lease_ttl_secs");

        var before = writes.Acknowledged.Count;
        await writes.WaitForAcknowledgedAsync(before + 100, TimeSpan.FromSeconds(60)); // the client carried on elsewhere
        await writes.StopAsync();
        output.WriteLine($"{writes.Acknowledged.Count} writes acknowledged at majority, {writes.Retries} retried on another node");

        var stored = await cluster.PointIdsAsync(next, "failover");
        var lost = writes.Acknowledged.Where(id => !stored.Contains(id)).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} acknowledged writes lost, e.g. {string.Join(", ", lost.Take(10))}");

        await master.StartAsync();
        await cluster.WaitUntilAsync(async () => await cluster.RoleAsync(master) == "replica", TimeSpan.FromSeconds(30), $"{master.Id} rejoins as a replica");
        await cluster.WaitForEqualChecksumsAsync(TimeSpan.FromSeconds(60));
    }

    [SkippableFact]
    public async Task AMasterCutOffFromEtcdStopsAcceptingMajorityWritesOnceItsLeaseIsGone()
    {
        Prerequisites.Require(Need.Etcd);
        await using var etcd = await EtcdServer.StartAsync();
        await using var proxy = new TcpProxy(new IPEndPoint(IPAddress.Loopback, etcd.ClientPort));
        await using var cluster = new AutoCluster(etcd.Endpoint, output);
        var isolated = cluster.Nodes[0];
        isolated.EtcdEndpoint = $"http://127.0.0.1:{proxy.Port}";
        await isolated.StartAsync();
        await cluster.WaitForMasterAsync(TimeSpan.FromSeconds(30));
        await cluster.Nodes[1].StartAsync();
        await cluster.Nodes[2].StartAsync();
        await cluster.WaitForReplicasAsync(2, TimeSpan.FromSeconds(30));
        await cluster.CreateCollectionAsync(isolated, "partition");
        Assert.Equal(HttpStatusCode.OK, (await cluster.UpsertAsync(isolated, "partition", 1)).StatusCode);

        proxy.Partition();
        var clock = Stopwatch.StartNew();
        await cluster.WaitUntilAsync(async () => await cluster.RoleAsync(isolated) != "master", TimeSpan.FromSeconds(Ttl), "the isolated master to fence itself");
        output.WriteLine($"fenced {clock.Elapsed.TotalSeconds:F2} s after the partition");
        var refused = await cluster.UpsertAsync(isolated, "partition", 2);
        output.WriteLine($"a majority write to the isolated node: {(int)refused.StatusCode} {await refused.Content.ReadAsStringAsync()}");
        Assert.False(refused.IsSuccessStatusCode);

        var next = await cluster.WaitForMasterAsync(TimeSpan.FromSeconds(4 * Ttl), except: isolated);
        Assert.Equal(HttpStatusCode.OK, (await cluster.UpsertAsync(next, "partition", 3)).StatusCode);

        proxy.Heal();
        await cluster.WaitUntilAsync(async () => await cluster.RoleAsync(isolated) == "replica", TimeSpan.FromSeconds(30), "the isolated master rejoins as a replica");
        await cluster.WaitForEqualChecksumsAsync(TimeSpan.FromSeconds(60));
        Assert.DoesNotContain(2L, await cluster.PointIdsAsync(next, "partition"));
    }

    /// <summary>
    /// Failover time over <c>VECTORIZER_FAILOVER_TRIALS</c> (default 20) kill -9 trials: from the SIGKILL to another
    /// node answering <c>role: master</c>. Prints min / median / p95 / max.
    /// </summary>
    [SkippableFact]
    public async Task FailoverTimeOverRepeatedKills()
    {
        Prerequisites.Require(Need.Etcd);
        var trials = int.TryParse(Environment.GetEnvironmentVariable("VECTORIZER_FAILOVER_TRIALS"), out var n) ? n : 20;
        await using var etcd = await EtcdServer.StartAsync();
        await using var cluster = new AutoCluster(etcd.Endpoint, output);
        await cluster.StartAllAsync();
        var master = await cluster.WaitForMasterAsync(TimeSpan.FromSeconds(30));
        await cluster.CreateCollectionAsync(master, "trials");
        var times = new List<double>();
        for (var trial = 0; trial < trials; trial++)
        {
            await cluster.WaitForReplicasAsync(2, TimeSpan.FromSeconds(60));
            Assert.Equal(HttpStatusCode.OK, (await cluster.UpsertAsync(master, "trials", trial)).StatusCode);
            var clock = Stopwatch.StartNew();
            master.Kill();
            var next = await cluster.WaitForMasterAsync(TimeSpan.FromSeconds(4 * Ttl), except: master, poll: TimeSpan.FromMilliseconds(20));
            times.Add(clock.Elapsed.TotalSeconds);
            output.WriteLine($"trial {trial + 1}: {master.Id} killed, {next.Id} master after {clock.Elapsed.TotalSeconds:F2} s");
            await master.StartAsync();
            master = next;
        }

        times.Sort();
        double At(double q) => times[Math.Min(times.Count - 1, (int)Math.Ceiling(q * times.Count) - 1)];
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"failover over {times.Count} kill -9 trials, lease_ttl_secs {Ttl}: min {times[0]:F2} s, median {At(0.5):F2} s, p95 {At(0.95):F2} s, max {times[^1]:F2} s"));
        Assert.True(times[^1] < 2 * Ttl, $"slowest failover {times[^1]:F2} s, over 2 x lease_ttl_secs");
    }

    internal sealed class AutoNode(string id, string root)
    {
        public string Id { get; } = id;

        public int RestPort { get; } = TestPorts.Free();

        public int ReplicationPort { get; } = TestPorts.Free();

        public string DataDir { get; } = Path.Combine(root, id, "data");

        public string ConfigPath { get; } = Path.Combine(root, id, "config.yml");

        public string EtcdEndpoint { get; set; } = "";

        public string Url => $"http://127.0.0.1:{RestPort}";

        public VectorizerProcess? Process { get; private set; }

        public bool Running => Process is { Process.HasExited: false };

        public async Task StartAsync()
        {
            if (Process is not null)
            {
                await Process.DisposeAsync();
            }

            Directory.CreateDirectory(DataDir);
            await File.WriteAllTextAsync(ConfigPath, $"""
                server:
                  host: 127.0.0.1
                  port: {RestPort}
                  grpc_enabled: false
                  data_dir: {DataDir}
                replication:
                  enabled: true
                  role: auto
                  bind_address: "127.0.0.1:{ReplicationPort}"
                  heartbeat_interval_secs: 1
                  replica_timeout_secs: 5
                  reconnect_interval_secs: 1
                  write_concern: majority
                  forward_writes: true
                cluster:
                  node_id: {Id}
                  advertise_address: "{Url}"
                  etcd:
                    endpoints: ["{EtcdEndpoint}"]
                    lease_ttl_secs: {Ttl}
                """);
            Process = VectorizerProcess.Launch("serve", "--config", ConfigPath);
        }

        public void Kill() => Process?.Kill();

    }

    internal sealed class AutoCluster : IAsyncDisposable
    {
        private readonly ITestOutputHelper output;
        private readonly string root = TestPaths.NewDirectory("failover-");

        public AutoCluster(string etcdEndpoint, ITestOutputHelper output)
        {
            this.output = output;
            Nodes = new[] { "a", "b", "c" }.Select(id => new AutoNode(id, root) { EtcdEndpoint = etcdEndpoint }).ToList();
        }

        public List<AutoNode> Nodes { get; }

        public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

        public async Task StartAllAsync()
        {
            foreach (var node in Nodes)
            {
                await node.StartAsync();
            }
        }

        public async Task<string?> RoleAsync(AutoNode node)
        {
            if (!node.Running)
            {
                return null;
            }

            try
            {
                using var status = await Http.GetAsync(node.Url + "/api/replication/status");
                if (!status.IsSuccessStatusCode)
                {
                    return null;
                }

                using var json = JsonDocument.Parse(await status.Content.ReadAsStringAsync());
                return json.RootElement.GetProperty("role").GetString();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return null;
            }
        }

        public async Task<AutoNode> WaitForMasterAsync(TimeSpan timeout, AutoNode? except = null, TimeSpan? poll = null)
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                foreach (var node in Nodes.Where(n => n != except && n.Running))
                {
                    if (await RoleAsync(node) == "master")
                    {
                        return node;
                    }
                }

                if (clock.Elapsed > timeout)
                {
                    Assert.Fail($"no master within {timeout.TotalSeconds} s\n" + Describe());
                }

                await Task.Delay(poll ?? TimeSpan.FromMilliseconds(100));
            }
        }

        public Task WaitForReplicasAsync(int count, TimeSpan timeout) =>
            WaitUntilAsync(async () => (await Task.WhenAll(Nodes.Select(RoleAsync))).Count(r => r == "replica") >= count, timeout, $"{count} replicas");

        public async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
        {
            var clock = Stopwatch.StartNew();
            while (!await condition())
            {
                if (clock.Elapsed > timeout)
                {
                    Assert.Fail($"timed out waiting for {what}\n" + Describe());
                }

                await Task.Delay(100);
            }
        }

        public async Task CreateCollectionAsync(AutoNode node, string name)
        {
            using var body = new StringContent("""{"vectors": {"size": 4, "distance": "Cosine"}}""", Encoding.UTF8, "application/json");
            using var created = await Http.PutAsync($"{node.Url}/collections/{name}", body);
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        public async Task<HttpResponseMessage> UpsertAsync(AutoNode node, string collection, long id)
        {
            var point = $$$"""{"points": [{"id": {{{id}}}, "vector": [1, {{{id % 7}}}, {{{id % 11}}}, 0.5], "payload": {"n": {{{id}}}}}]}""";
            using var request = new HttpRequestMessage(HttpMethod.Put, $"{node.Url}/collections/{collection}/points?wait=true")
            {
                Content = new StringContent(point, Encoding.UTF8, "application/json"),
            };
            return await Http.SendAsync(request);
        }

        public async Task<HashSet<long>> PointIdsAsync(AutoNode node, string collection)
        {
            var ids = new HashSet<long>();
            JsonElement offset = default;
            while (true)
            {
                var body = offset.ValueKind == JsonValueKind.Undefined || offset.ValueKind == JsonValueKind.Null
                    ? """{"limit": 1000}"""
                    : $$"""{"limit": 1000, "offset": {{offset.GetRawText()}}}""";
                using var content = new StringContent(body, Encoding.UTF8, "application/json");
                using var page = await Http.PostAsync($"{node.Url}/collections/{collection}/points/scroll", content);
                var text = await page.Content.ReadAsStringAsync();
                Assert.True(page.IsSuccessStatusCode, text);
                using var json = JsonDocument.Parse(text);
                var result = json.RootElement.GetProperty("result");
                foreach (var point in result.GetProperty("points").EnumerateArray())
                {
                    ids.Add(point.GetProperty("id").GetInt64());
                }

                offset = result.TryGetProperty("next_page_offset", out var next) ? next.Clone() : default;
                if (offset.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
                {
                    return ids;
                }
            }
        }

        public Task WaitForEqualChecksumsAsync(TimeSpan timeout) =>
            WaitUntilAsync(
                async () =>
                {
                    var sums = new List<string>();
                    foreach (var node in Nodes)
                    {
                        try
                        {
                            sums.Add(await Http.GetStringAsync(node.Url + "/api/replication/checksum"));
                        }
                        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                        {
                            return false;
                        }
                    }

                    return sums.Distinct().Count() == 1;
                },
                timeout,
                "equal checksums on every node");

        public string Describe() => string.Join("\n", Nodes.Select(n => $"--- {n.Id} ({(n.Running ? "running" : "stopped")}):\n" + Tail(n.Process?.Output ?? "", 4000)));

        private static string Tail(string text, int length) => text.Length <= length ? text : text[^length..];

        public async ValueTask DisposeAsync()
        {
            foreach (var node in Nodes)
            {
                if (node.Process is { } process)
                {
                    await process.DisposeAsync();
                }
            }

            Http.Dispose();
            output.WriteLine("(cluster stopped)");
            TestPaths.TryDelete(root);
        }
    }

    /// <summary>
    /// A client writing one point at a time at <c>wait=true</c> (majority): on an error or a dead node it retries the
    /// same point on the next node. <see cref="Acknowledged"/>: the ids the cluster acknowledged.
    /// </summary>
    internal sealed class WriteStream : IDisposable
    {
        private readonly CancellationTokenSource stop = new();
        private readonly Task loop;

        public WriteStream(AutoCluster cluster, string collection, ITestOutputHelper output)
        {
            loop = Task.Run(async () =>
            {
                var target = 0;
                long id = 1;
                string? lastError = null;
                while (!stop.IsCancellationRequested)
                {
                    var node = cluster.Nodes[target % cluster.Nodes.Count];
                    try
                    {
                        using var response = await cluster.UpsertAsync(node, collection, id);
                        if (response.IsSuccessStatusCode)
                        {
                            lock (Acknowledged)
                            {
                                Acknowledged.Add(id);
                            }

                            id++;
                            continue;
                        }

                        lastError = $"{node.Id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        lastError = $"{node.Id}: {e.Message}";
                    }

                    if (lastError is not null)
                    {
                        Retries++;
                        target++;
                        try
                        {
                            output.WriteLine($"write {id} retried: {lastError}");
                        }
                        catch (InvalidOperationException)
                        {
                        }

                        await Task.Delay(50);
                    }
                }
            });
        }

        public List<long> Acknowledged { get; } = [];

        public int Retries { get; private set; }

        public async Task WaitForAcknowledgedAsync(int count, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                lock (Acknowledged)
                {
                    if (Acknowledged.Count >= count)
                    {
                        return;
                    }
                }

                Assert.True(clock.Elapsed < timeout, $"fewer than {count} writes acknowledged in {timeout.TotalSeconds} s ({Acknowledged.Count})");
                Assert.False(loop.IsFaulted, loop.Exception?.ToString());
                await Task.Delay(50);
            }
        }

        public async Task StopAsync()
        {
            await stop.CancelAsync();
            await loop;
        }

        public void Dispose()
        {
            stop.Cancel();
            stop.Dispose();
        }
    }
}
