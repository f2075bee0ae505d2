using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Vectorizer.Bench;

/// <summary>
/// Replication with real processes on loopback (static roles, no etcd): a master and replicas per write concern.
/// (a) Lag under a sustained upsert load: operations behind, sampled from the master's <c>/api/replication/status</c>,
/// and milliseconds from the master's acknowledgement of a marker point to the moment it is readable on a replica.
/// (b) Upsert throughput with <c>write_concern</c> one/majority/all against none: same clients, same batches,
/// interleaved rounds, ratios per round. (c) A full resync: a fresh replica of a loaded (and indexed) master, timed
/// until it reports caught up and its checksum equals the master's.
/// </summary>
public static class ReplicationBenchmark
{
    public sealed record Options(
        string Dataset, int Points, int BatchSize, int Clients, int Seconds, int Rounds, int Replicas, string[] Concerns,
        int ResyncPoints, bool ResyncIndexed, int LagSeconds);

    private const string Collection = "bench";

    public static string Run(Options options, TextWriter log)
    {
        // The probe and the status sampler block their threads; on 2 cores the pool would otherwise add threads for
        // the load's continuations about once a second, and that wait would be measured as replication lag.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 64), Math.Max(io, 64));
        var maxRows = Math.Max(options.Points, options.ResyncPoints);
        var dataset = Dataset.LoadBase(options.Dataset, maxRows, log);
        var scratch = Path.Combine(Path.GetTempPath(), "vectorizer-bench", "replication-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(scratch);
        var report = new StringBuilder();
        try
        {
            var points = Math.Min(options.Points, dataset.BaseCount);
            if (points > 0 && options.Concerns.Length > 0)
            {
                var clusters = new List<Cluster>();
                try
                {
                    foreach (var concern in options.Concerns)
                    {
                        clusters.Add(Cluster.Start(scratch, concern, options.Replicas, log));
                    }

                    var bodies = Bodies(dataset, 0, points, options.BatchSize);
                    foreach (var cluster in clusters)
                    {
                        cluster.CreateCollection(dataset, indexed: false);
                        var fill = Load(cluster, bodies, options.Clients, TimeSpan.Zero, once: true);
                        log.WriteLine($"{cluster.Concern}: filled {points} points in {fill.Seconds:F1} s");
                        cluster.WaitCaughtUp(TimeSpan.FromMinutes(5));
                    }

                    report.Append(LagSection(clusters[0], dataset, bodies, options, log));
                    if (clusters.Count > 1)
                    {
                        report.Append(ConcernSection(clusters, bodies, options, log));
                    }
                }
                finally
                {
                    foreach (var cluster in clusters)
                    {
                        cluster.Dispose();
                    }
                }
            }

            if (options.ResyncPoints > 0)
            {
                report.Append(ResyncSection(scratch, dataset, options, log));
            }

            return report.ToString();
        }
        finally
        {
            TryDelete(scratch);
        }
    }

    // ---- (a) lag ----

    private static string LagSection(Cluster cluster, Dataset dataset, List<Batch> bodies, Options options, TextWriter log)
    {
        var builder = new StringBuilder();
        builder.AppendLine($"## Replication lag (`write_concern: {cluster.Concern}`, master and {cluster.Replicas.Count} replica(s))");
        builder.AppendLine();
        builder.AppendLine($"Load: {options.Clients} client(s) upserting batches of {options.BatchSize} of the first {bodies.Sum(b => b.Count)} {dataset.Name} vectors (overwrites) with `wait=true` to the master as fast as it acknowledges, for {options.LagSeconds} s; no HNSW indexing (`indexing_threshold` above the point count), so the replicas do what replication costs and no more.");
        builder.AppendLine();
        builder.AppendLine("* **operations behind**: the master's `GET /api/replication/status` sampled every 100 ms, `lag_operations` of each replica (its log head minus the position the replica acknowledged, i.e. applied, fsynced and saved). One operation is one upsert request (one batch).");
        builder.AppendLine("* **ack → readable**: every 100 ms a probe upserts one marker point to the master (`wait=true`) and, from the moment the master acknowledges, polls `GET /collections/bench/points/{id}` on a replica (replicas in turn, a poll every ~1 ms) until it answers 200: the time a client that reads from a replica right after writing to the master would have to wait (the last poll's own round trip included, so it overstates the lag by up to one read's latency). The probe's own upsert waits in the master's queue behind the load like any other write; that part is not counted.");
        builder.AppendLine();
        // Warm-up: the first reads on a new connection (and the replica's first run of that code path) take a second or
        // two on a busy machine; that is not replication lag.
        foreach (var replica in cluster.Replicas)
        {
            for (var i = 0; i < 50; i++)
            {
                using var read = replica.Client.GetAsync($"/collections/{Collection}/points/{i}").GetAwaiter().GetResult();
            }
        }

        var rows = new List<IReadOnlyList<string>>();
        foreach (var loaded in new[] { false, true })
        {
            var load = LoadAverage();
            using var stop = new CancellationTokenSource();
            var sampler = Task.Factory.StartNew(() => SampleLag(cluster, stop.Token), TaskCreationOptions.LongRunning);
            var prober = Task.Factory.StartNew(() => Probe(cluster, dataset, loaded ? 20_000_000 : 10_000_000, stop.Token), TaskCreationOptions.LongRunning);
            LoadResult? result = null;
            if (loaded)
            {
                result = Load(cluster, bodies, options.Clients, TimeSpan.FromSeconds(options.LagSeconds), once: false);
            }
            else
            {
                Thread.Sleep(TimeSpan.FromSeconds(Math.Max(3, options.LagSeconds / 4)));
            }

            stop.Cancel();
            var operations = sampler.GetAwaiter().GetResult();
            var visible = prober.GetAwaiter().GetResult();
            var loadEnd = LoadAverage();
            cluster.WaitCaughtUp(TimeSpan.FromMinutes(5));
            Array.Sort(operations.Ops);
            Array.Sort(operations.Seconds);
            Array.Sort(visible);
            var rate = result is null ? "idle" : Stats.F(result.Points / result.Seconds, 0);
            log.WriteLine($"lag ({rate} points/s): ops p50 {Stats.Percentile(operations.Ops, 50):F0} p99 {Stats.Percentile(operations.Ops, 99):F0}; ack->readable p50 {Stats.Percentile(visible, 50):F1} ms p99 {Stats.Percentile(visible, 99):F1} ms ({visible.Length} probes)");
            rows.Add([
                rate,
                operations.Ops.Length.ToString(CultureInfo.InvariantCulture),
                Stats.F(Stats.Percentile(operations.Ops, 50), 0), Stats.F(Stats.Percentile(operations.Ops, 99), 0), Stats.F(operations.Ops.LastOrDefault(), 0),
                Stats.F(Stats.Percentile(operations.Seconds, 50) * 1000, 0), Stats.F(Stats.Percentile(operations.Seconds, 99) * 1000, 0),
                visible.Length.ToString(CultureInfo.InvariantCulture),
                Stats.F(Stats.Percentile(visible, 50), 1), Stats.F(Stats.Percentile(visible, 99), 1), Stats.F(visible.LastOrDefault(), 1),
                $"{load} → {loadEnd}",
            ]);
        }

        builder.Append(Stats.Table(
            ["upsert load (points/s)", "status samples", "ops behind p50", "ops behind p99", "ops behind max", "status lag_seconds p50 (ms)", "p99 (ms)", "probes", "ack → readable p50 ms", "p99 ms", "max ms", "load average (1 min) start → end"],
            rows));
        builder.AppendLine();
        return builder.ToString();
    }

    private sealed record LagSamples(double[] Ops, double[] Seconds);

    private static LagSamples SampleLag(Cluster cluster, CancellationToken stop)
    {
        var ops = new List<double>();
        var seconds = new List<double>();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var document = JsonDocument.Parse(cluster.Master.Client.GetStringAsync("/api/replication/status", stop).GetAwaiter().GetResult());
                foreach (var replica in document.RootElement.GetProperty("replicas").EnumerateArray())
                {
                    ops.Add(replica.GetProperty("lag_operations").GetDouble());
                    seconds.Add(Math.Max(0, replica.GetProperty("lag_seconds").GetDouble()));
                }

                Task.Delay(100, stop).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return new LagSamples([.. ops], [.. seconds]);
    }

    private static double[] Probe(Cluster cluster, Dataset dataset, int firstId, CancellationToken stop)
    {
        var times = new List<double>();
        for (var k = 0; !stop.IsCancellationRequested; k++)
        {
            var id = firstId + k;
            var body = UpsertBody(dataset, k % dataset.BaseCount, id);
            using (var content = new ByteArrayContent(body))
            {
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = cluster.Master.Client.PutAsync($"/collections/{Collection}/points?wait=true", content).GetAwaiter().GetResult();
                response.EnsureSuccessStatusCode();
            }

            var acked = Stopwatch.GetTimestamp();
            var replica = cluster.Replicas[k % cluster.Replicas.Count];
            while (true)
            {
                using var read = replica.Client.GetAsync($"/collections/{Collection}/points/{id}").GetAwaiter().GetResult();
                if (read.StatusCode == HttpStatusCode.OK)
                {
                    break;
                }

                if (read.StatusCode != HttpStatusCode.NotFound)
                {
                    throw new InvalidOperationException($"replica answered {(int)read.StatusCode} reading point {id}");
                }

                if (Stopwatch.GetElapsedTime(acked) > TimeSpan.FromMinutes(2))
                {
                    throw new TimeoutException($"point {id} not readable on a replica 2 minutes after the master acknowledged it");
                }

                Thread.Sleep(1);
            }

            times.Add(Stopwatch.GetElapsedTime(acked).TotalMilliseconds);
            try
            {
                Task.Delay(100, stop).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return [.. times];
    }

    // ---- (b) write concern ----

    private static string ConcernSection(List<Cluster> clusters, List<Batch> bodies, Options options, TextWriter log)
    {
        var builder = new StringBuilder();
        var baseline = clusters[0];
        builder.AppendLine($"## Upsert throughput by write concern (÷ `{baseline.Concern}`)");
        builder.AppendLine();
        builder.AppendLine($"One cluster per write concern (a master and {options.Replicas} replicas each, all on this machine), idle while another is measured. Each round measures every cluster for {options.Seconds} s with the same load ({options.Clients} client(s), batches of {options.BatchSize}, `wait=true`, overwrites of {bodies.Sum(b => b.Count)} points), in a rotated order; a ratio is the cluster's points/s over the `{baseline.Concern}` cluster's in the same round. With {options.Replicas} replicas `majority` waits for {Majority(options.Replicas)} acknowledgement(s) (⌈(n+1)/2⌉ − 1 of n replicas), `one` for 1, `all` for {options.Replicas}.");
        builder.AppendLine();
        var rates = clusters.ToDictionary(c => c.Concern, _ => new List<double>());
        var loads = new List<string>();
        var ratioRows = new List<IReadOnlyList<string>>();
        for (var round = 0; round < options.Rounds; round++)
        {
            var load = LoadAverage();
            var order = clusters.Skip(round % clusters.Count).Concat(clusters.Take(round % clusters.Count)).ToList();
            foreach (var cluster in order)
            {
                var result = Load(cluster, bodies, options.Clients, TimeSpan.FromSeconds(options.Seconds), once: false);
                var rate = result.Points / result.Seconds;
                rates[cluster.Concern].Add(rate);
                log.WriteLine($"round {round + 1} {cluster.Concern}: {rate:F0} points/s (p50 {result.P50Ms:F1} ms, p99 {result.P99Ms:F1} ms per request)");
                cluster.WaitCaughtUp(TimeSpan.FromMinutes(5));
            }

            loads.Add($"{load} → {LoadAverage()}");
        }

        var rows = new List<IReadOnlyList<string>>();
        foreach (var cluster in clusters)
        {
            var ratios = rates[cluster.Concern].Select((r, i) => r / rates[baseline.Concern][i]).ToArray();
            rows.Add([
                $"`{cluster.Concern}`",
                string.Join(", ", rates[cluster.Concern].Select(r => Stats.F(r, 0))),
                string.Join(", ", ratios.Select(r => Stats.F(r, 2))),
                $"**{Stats.F(Median(ratios), 2)}**",
            ]);
        }

        builder.Append(Stats.Table(["write concern", "points/s per round", "÷ none per round", "median ratio"], rows));
        builder.AppendLine();
        builder.AppendLine("Load average (1 min) per round, start → end: " + string.Join("; ", loads.Select((l, i) => $"round {i + 1}: {l}")) + ".");
        builder.AppendLine();
        return builder.ToString();
    }

    private static int Majority(int replicas) => ((replicas + 2) / 2) - 1;

    // ---- (c) full resync ----

    private static string ResyncSection(string scratch, Dataset dataset, Options options, TextWriter log)
    {
        var points = Math.Min(options.ResyncPoints, dataset.BaseCount);
        var builder = new StringBuilder();
        builder.AppendLine($"## Full resync: {points} {dataset.Name} vectors");
        builder.AppendLine();
        using var cluster = Cluster.Start(scratch, "none", 0, log, "resync");
        cluster.CreateCollection(dataset, indexed: options.ResyncIndexed);
        var loadStart = LoadAverage();
        var fill = Load(cluster, Bodies(dataset, 0, points, 256), 2, TimeSpan.Zero, once: true);
        log.WriteLine($"resync: master loaded {points} points in {fill.Seconds:F1} s");
        var indexSeconds = 0.0;
        if (options.ResyncIndexed)
        {
            var indexing = Stopwatch.StartNew();
            WaitGreen(cluster.Master.Client, TimeSpan.FromMinutes(60));
            indexSeconds = indexing.Elapsed.TotalSeconds;
            log.WriteLine($"resync: master indexed in {indexSeconds:F1} s after the last upsert");
        }

        var checksumWatch = Stopwatch.StartNew();
        var masterChecksum = cluster.Master.Client.GetStringAsync("/api/replication/checksum").GetAwaiter().GetResult();
        var masterChecksumSeconds = checksumWatch.Elapsed.TotalSeconds;
        var masterBytes = DirectoryBytes(Path.Combine(cluster.Master.DataDir, "collections"));

        var loadBefore = LoadAverage();
        var total = Stopwatch.StartNew();
        var replica = cluster.AddReplica(log);
        var started = total.Elapsed.TotalSeconds;
        double caughtUp;
        while (true)
        {
            using var status = JsonDocument.Parse(replica.Client.GetStringAsync("/api/replication/status").GetAwaiter().GetResult());
            var follower = status.RootElement.GetProperty("replica");
            if (follower.GetProperty("full_resyncs").GetInt32() >= 1 && follower.GetProperty("connected").GetBoolean() && follower.GetProperty("lag_operations").GetInt64() == 0)
            {
                caughtUp = total.Elapsed.TotalSeconds;
                break;
            }

            if (total.Elapsed > TimeSpan.FromMinutes(30))
            {
                throw new TimeoutException("the replica did not catch up within 30 minutes: " + status.RootElement.GetRawText());
            }

            Thread.Sleep(100);
        }

        var indexedAtCatchUp = IndexedVectors(replica.Client);
        log.WriteLine($"resync: replica caught up {caughtUp:F1} s after its start, {indexedAtCatchUp} vectors in its graph");
        string replicaChecksum;
        var checks = 0;
        while (true)
        {
            checks++;
            replicaChecksum = replica.Client.GetStringAsync("/api/replication/checksum").GetAwaiter().GetResult();
            if (replicaChecksum == masterChecksum)
            {
                break;
            }

            if (total.Elapsed > TimeSpan.FromMinutes(30))
            {
                throw new InvalidOperationException($"checksums differ 30 minutes after the replica started:\nmaster {masterChecksum}\nreplica {replicaChecksum}");
            }

            Thread.Sleep(250);
        }

        var matched = total.Elapsed.TotalSeconds;
        var loadAfter = LoadAverage();
        var replicaBytes = DirectoryBytes(Path.Combine(replica.DataDir, "collections"));
        var indexedOnReplica = IndexedVectors(replica.Client);
        log.WriteLine($"resync: checksums equal {matched:F1} s after the replica started ({checks} checksum call(s)); replica holds {replicaBytes >> 20} MiB, {indexedOnReplica} vectors in its graph");
        var green = double.NaN;
        if (options.ResyncIndexed)
        {
            WaitGreen(replica.Client, TimeSpan.FromMinutes(30));
            green = total.Elapsed.TotalSeconds;
            log.WriteLine($"resync: replica green (graph complete) {green:F1} s after its start");
        }

        var shipping = caughtUp - started;
        builder.AppendLine($"A master loaded with {points} points (batches of 256, `wait=true`: {fill.Seconds:F1} s){(options.ResyncIndexed ? $" and indexed (HNSW m=16, ef_construct=100; green {indexSeconds:F0} s after the last upsert)" : " without an HNSW graph (`indexing_threshold` above the point count)")}, no writes during the resync. Then a fresh replica (empty data directory) is started as a separate process; times from its launch. Load average (1 min) while the master loaded: {loadStart}; at the replica's start: {loadBefore}; at the end: {loadAfter}.");
        builder.AppendLine();
        builder.Append(Stats.Table(["step", "seconds after the replica's launch", "notes"], [
            ["replica process listening", Stats.F(started, 1), ".NET start, configuration, empty data directory"],
            ["status: full resync done, connected, 0 operations behind", $"**{Stats.F(caughtUp, 1)}**", $"snapshot shipped and swapped in: {Stats.F(shipping, 1)} s after listening; {replicaBytes / 1048576.0:F0} MiB of collection files on the replica ({masterBytes / 1048576.0:F0} MiB on the master) ≈ {replicaBytes / 1048576.0 / Math.Max(0.001, shipping):F1} MiB/s"],
            ["`GET /api/replication/checksum` equal on both", $"**{Stats.F(matched, 1)}**", $"{checks} replica checksum call(s); one checksum over {points} points takes {Stats.F(masterChecksumSeconds, 1)} s on the master"],
        ]));
        builder.AppendLine();
        builder.AppendLine($"Vectors in the replica's HNSW graph: {indexedAtCatchUp} of {points} when it caught up, {indexedOnReplica} when the checksums matched{(double.IsNaN(green) ? "" : $"; the collection was green (graph complete) {green:F1} s after the replica's launch")}. The snapshot carries the graph the master's forced checkpoint saved.");
        builder.AppendLine();
        return builder.ToString();
    }

    // ---- load ----

    private sealed record LoadResult(long Points, double Seconds, double P50Ms, double P99Ms);

    private static LoadResult Load(Cluster cluster, List<Batch> bodies, int clients, TimeSpan duration, bool once)
    {
        var next = -1;
        long points = 0;
        var latencies = new List<double>[clients];
        var stopwatch = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var mine = latencies[c] = [];
            while (true)
            {
                var i = Interlocked.Increment(ref next);
                if (once ? i >= bodies.Count : stopwatch.Elapsed >= duration)
                {
                    return;
                }

                var body = bodies[i % bodies.Count];
                using var content = new ByteArrayContent(body.Body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                var start = Stopwatch.GetTimestamp();
                using var response = await cluster.Master.Client.PutAsync($"/collections/{Collection}/points?wait=true", content).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"upsert answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}");
                }

                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                Interlocked.Add(ref points, body.Count);
            }
        })).ToArray();
        Task.WaitAll(tasks);
        var seconds = stopwatch.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        return new LoadResult(points, seconds, Stats.Percentile(all, 50), Stats.Percentile(all, 99));
    }

    private sealed record Batch(byte[] Body, int Count);

    private static List<Batch> Bodies(Dataset dataset, int first, int count, int batch)
    {
        var bodies = new List<Batch>();
        for (var start = first; start < first + count; start += batch)
        {
            var size = Math.Min(batch, first + count - start);
            bodies.Add(new Batch(RestBenchmark.UpsertBody(dataset, start, size), size));
        }

        return bodies;
    }

    private static byte[] UpsertBody(Dataset dataset, int row, int id)
    {
        var vector = string.Join(',', dataset.BaseRow(row).ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
        return Encoding.UTF8.GetBytes($$$"""{"points": [{"id": {{{id}}}, "vector": [{{{vector}}}], "payload": {"probe": true}}]}""");
    }

    private static long IndexedVectors(HttpClient client)
    {
        using var info = JsonDocument.Parse(client.GetStringAsync($"/collections/{Collection}").GetAwaiter().GetResult());
        return info.RootElement.GetProperty("result").GetProperty("indexed_vectors_count").GetInt64();
    }

    private static void WaitGreen(HttpClient client, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            using var info = JsonDocument.Parse(client.GetStringAsync($"/collections/{Collection}").GetAwaiter().GetResult());
            if (info.RootElement.GetProperty("result").GetProperty("status").GetString() == "green")
            {
                return;
            }

            if (stopwatch.Elapsed > timeout)
            {
                throw new TimeoutException("the master's collection did not become green");
            }

            Thread.Sleep(500);
        }
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>The 1-minute load average (<c>/proc/loadavg</c>).</summary>
    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    private static long DirectoryBytes(string path) =>
        Directory.Exists(path) ? new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) : 0;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void TryDelete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>One server process of a cluster, with its HTTP client.</summary>
    private sealed class Node(RestBenchmark.ServerProcess process, string dataDir) : IDisposable
    {
        public HttpClient Client { get; } = new(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(process.Url), Timeout = TimeSpan.FromMinutes(5) };

        public string DataDir { get; } = dataDir;

        public void Dispose()
        {
            Client.Dispose();
            process.Dispose();
        }
    }

    /// <summary>A master and its replicas, each a <c>vectorizer serve</c> process with its own data directory and config.</summary>
    private sealed class Cluster : IDisposable
    {
        private readonly string folder;
        private readonly int masterReplicationPort;

        private Cluster(string folder, string concern, Node master, int masterReplicationPort)
        {
            this.folder = folder;
            Concern = concern;
            Master = master;
            this.masterReplicationPort = masterReplicationPort;
        }

        public string Concern { get; }

        public Node Master { get; }

        public List<Node> Replicas { get; } = [];

        public static Cluster Start(string scratch, string concern, int replicas, TextWriter log, string? name = null)
        {
            var folder = Path.Combine(scratch, name ?? concern);
            var (master, port) = StartNode(folder, "master", port => $"""
                replication:
                  enabled: true
                  role: master
                  bind_address: "127.0.0.1:{port}"
                  heartbeat_interval_secs: 1
                  write_concern: {concern}
                cluster:
                  node_id: "{concern}-master"
                """, log);
            var cluster = new Cluster(folder, concern, master, port);
            try
            {
                for (var i = 0; i < replicas; i++)
                {
                    cluster.AddReplica(log);
                }

                cluster.WaitConnected(TimeSpan.FromMinutes(2));
                log.WriteLine($"cluster write_concern={concern}: master and {replicas} replica(s) up");
                return cluster;
            }
            catch
            {
                cluster.Dispose();
                throw;
            }
        }

        public Node AddReplica(TextWriter log)
        {
            var id = $"{Concern}-replica-{Replicas.Count + 1}";
            var (node, _) = StartNode(folder, id, port => $"""
                replication:
                  enabled: true
                  role: replica
                  bind_address: "127.0.0.1:{port}"
                  master_address: "127.0.0.1:{masterReplicationPort}"
                  heartbeat_interval_secs: 1
                  reconnect_interval_secs: 1
                cluster:
                  node_id: "{id}"
                """, log);
            Replicas.Add(node);
            return node;
        }

        /// <summary>
        /// Starts a node whose replication stream listens on a free port; another process may take that port between
        /// the probe and the bind, so a failed start is retried on a new one.
        /// </summary>
        private static (Node Node, int Port) StartNode(string folder, string id, Func<int, string> config, TextWriter log)
        {
            var directory = Path.Combine(folder, id);
            var dataDir = Path.Combine(directory, "data");
            for (var attempt = 1; ; attempt++)
            {
                Directory.CreateDirectory(directory);
                var port = FreePort();
                var configPath = Path.Combine(directory, "config.yml");
                File.WriteAllText(configPath, config(port));
                try
                {
                    return (new Node(RestBenchmark.StartServer(dataDir, log, "--config", configPath), dataDir), port);
                }
                catch (InvalidOperationException) when (attempt < 3)
                {
                    log.WriteLine($"{id} did not start (port {port} taken meanwhile?); retrying on another port");
                    TryDelete(directory);
                }
            }
        }

        public void CreateCollection(Dataset dataset, bool indexed)
        {
            var threshold = indexed ? "" : ", \"optimizers_config\": {\"indexing_threshold\": 100000000}";
            var body = "{\"vectors\": {\"size\": " + dataset.Dimension.ToString(CultureInfo.InvariantCulture) + ", \"distance\": \"" + (dataset.Angular ? "Cosine" : "Euclid") + "\"}" + threshold + "}";
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = Master.Client.PutAsync($"/collections/{Collection}", content).GetAwaiter().GetResult();
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"create collection: {(int)response.StatusCode} {response.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
            }
        }

        private void WaitConnected(TimeSpan timeout) => WaitStatus(timeout, (replicas, _) => replicas.Count(r => r.GetProperty("connected").GetBoolean()) >= Replicas.Count, "replicas did not connect");

        /// <summary>Until every replica has acknowledged the master's head.</summary>
        public void WaitCaughtUp(TimeSpan timeout) => WaitStatus(timeout, (replicas, head) => replicas.Count(r => r.GetProperty("acknowledged_position").GetInt64() >= head) >= Replicas.Count, "replicas did not catch up");

        private void WaitStatus(TimeSpan timeout, Func<List<JsonElement>, long, bool> done, string message)
        {
            var stopwatch = Stopwatch.StartNew();
            while (true)
            {
                using var status = JsonDocument.Parse(Master.Client.GetStringAsync("/api/replication/status").GetAwaiter().GetResult());
                var replicas = status.RootElement.GetProperty("replicas").EnumerateArray().ToList();
                if (done(replicas, status.RootElement.GetProperty("applied_position").GetInt64()))
                {
                    return;
                }

                if (stopwatch.Elapsed > timeout)
                {
                    throw new TimeoutException($"{message} ({Concern}): {status.RootElement.GetRawText()}");
                }

                Thread.Sleep(100);
            }
        }

        public void Dispose()
        {
            foreach (var replica in Replicas)
            {
                replica.Dispose();
            }

            Master.Dispose();
        }
    }
}
