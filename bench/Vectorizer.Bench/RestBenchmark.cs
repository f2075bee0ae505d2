using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Vectorizer.Bench;

/// <summary>
/// The server as a separate process: load points with batched <c>wait=true</c> upserts, then drive
/// <c>/points/query</c> with wrk at several connection counts.
/// </summary>
public static partial class RestBenchmark
{
    /// <param name="FilterCategories">
    /// When above 0, every point also gets an integer payload field <c>g</c> = id mod this (no payload index), and each
    /// connection count is measured a second time with queries filtered on <c>g</c> = q mod this.
    /// </param>
    public sealed record Options(string Dataset, int Points, int BatchSize, int[] Connections, int Seconds, int? HnswEf, int Clients, int WrkThreads, string ExtraConfig = "", int FilterCategories = 0);

    public static string Run(Options options, string command, TextWriter log)
    {
        var dataset = Dataset.Load(options.Dataset, options.Points, 1000, log);
        var dataDir = Path.Combine(Path.GetTempPath(), "vectorizer-bench", Guid.NewGuid().ToString("N"));
        var server = StartServer(dataDir, log);
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromMinutes(5) };
            Send(client, HttpMethod.Put, "/collections/bench", "{\"vectors\": {\"size\": " + dataset.Dimension.ToString(CultureInfo.InvariantCulture) + ", \"distance\": \"" + (dataset.Angular ? "Cosine" : "Euclid") + "\"}" + options.ExtraConfig + "}");
            var bodies = new List<byte[]>();
            for (var start = 0; start < dataset.BaseCount; start += options.BatchSize)
            {
                bodies.Add(UpsertBody(dataset, start, Math.Min(options.BatchSize, dataset.BaseCount - start), options.FilterCategories));
            }

            var stopwatch = Stopwatch.StartNew();
            var next = -1;
            var clients = Enumerable.Range(0, options.Clients).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < bodies.Count)
                {
                    using var content = new ByteArrayContent(bodies[i]);
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    using var response = await client.PutAsync("/collections/bench/points?wait=true", content).ConfigureAwait(false);
                    response.EnsureSuccessStatusCode();
                }
            })).ToArray();
            Task.WaitAll(clients);
            var upsertSeconds = stopwatch.Elapsed.TotalSeconds;
            var rate = dataset.BaseCount / upsertSeconds;
            log.WriteLine($"upsert: {dataset.BaseCount} points in batches of {options.BatchSize}, wait=true, {options.Clients} client(s): {upsertSeconds:F1} s = {rate:F0} points/s");

            WaitIndexed(client, dataset.BaseCount, log);
            var report = new StringBuilder();
            report.AppendLine($"Upsert: {dataset.BaseCount} points, batches of {options.BatchSize}, `wait=true`, {options.Clients} concurrent client(s): **{rate:F0} points/s** ({upsertSeconds:F1} s).");
            report.AppendLine();
            if (options.Connections.Length > 0)
            {
                var recall = MeasureRecall(client, dataset, options.HnswEf, 0, dataset.GroundTruth);
                log.WriteLine($"recall@10 of these queries over HTTP: {recall:F4}");
                var script = WriteWrkScript(dataset, options.HnswEf, 0);
                var filteredScript = options.FilterCategories > 0 ? WriteWrkScript(dataset, options.HnswEf, options.FilterCategories) : null;
                var filteredRecall = 0.0;
                if (options.FilterCategories > 0)
                {
                    filteredRecall = MeasureRecall(client, dataset, options.HnswEf, options.FilterCategories, ExactFiltered(dataset, options.FilterCategories));
                    log.WriteLine($"recall@10 of the filtered queries over HTTP: {filteredRecall:F4}");
                }

                var rows = new List<IReadOnlyList<string>>();
                foreach (var connections in options.Connections)
                {
                    var result = RunWrk(server.Url, script, connections, options.Seconds, options.WrkThreads, log);
                    rows.Add([connections.ToString(CultureInfo.InvariantCulture), "none", Stats.F(result.Qps, 0), "1", Stats.F(result.P50Ms, 2), Stats.F(result.P99Ms, 2), result.Errors.ToString(CultureInfo.InvariantCulture)]);
                    if (filteredScript is not null)
                    {
                        // Right after the unfiltered row, so both see the same machine.
                        var filtered = RunWrk(server.Url, filteredScript, connections, options.Seconds, options.WrkThreads, log);
                        rows.Add([connections.ToString(CultureInfo.InvariantCulture), $"g = q mod {options.FilterCategories}", Stats.F(filtered.Qps, 0), Stats.F(filtered.Qps / result.Qps, 2), Stats.F(filtered.P50Ms, 2), Stats.F(filtered.P99Ms, 2), filtered.Errors.ToString(CultureInfo.InvariantCulture)]);
                    }
                }

                report.AppendLine($"Queries: `POST /collections/bench/points/query` with {Math.Min(1000, dataset.QueryCount)} real query vectors, limit 10{(options.HnswEf is { } ef ? $", hnsw_ef {ef}" : ", default hnsw_ef")}, wrk {options.WrkThreads} thread(s), {options.Seconds} s per row; recall@10 of these answers against the exact neighbours: **{recall:F4}**.");
                if (options.FilterCategories > 0)
                {
                    report.AppendLine();
                    report.AppendLine($"Filtered rows: the same queries with `\"filter\": {{\"must\": [{{\"key\": \"g\", \"match\": {{\"value\": q mod {options.FilterCategories}}}}}]}}` on an integer payload field `g` = id mod {options.FilterCategories} ({100.0 / options.FilterCategories:F0} % of the points) **without a payload index**; recall@10 against the exact filtered neighbours: **{filteredRecall:F4}**; ÷ none: filtered QPS over the unfiltered row measured just before it.");
                }

                report.AppendLine();
                report.Append(Stats.Table(["connections", "filter", "QPS", "÷ none", "p50 ms", "p99 ms", "errors"], rows));
            }

            return report.ToString();
        }
        finally
        {
            server.Dispose();
            try
            {
                Directory.Delete(dataDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    internal static byte[] UpsertBody(Dataset dataset, int start, int count, int categories = 0)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("points");
            for (var i = start; i < start + count; i++)
            {
                writer.WriteStartObject();
                writer.WriteNumber("id", i);
                writer.WriteStartArray("vector");
                foreach (var value in dataset.BaseRow(i))
                {
                    writer.WriteNumberValue(value);
                }

                writer.WriteEndArray();
                writer.WriteStartObject("payload");
                writer.WriteNumber("row", i);
                if (categories > 0)
                {
                    writer.WriteNumber("g", i % categories);
                }

                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void Send(HttpClient client, HttpMethod method, string path, string json)
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        using var response = client.Send(request);
        response.EnsureSuccessStatusCode();
    }

    internal static void WaitIndexed(HttpClient client, int points, TextWriter log)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var info = JsonDocument.Parse(client.GetStringAsync("/collections/bench").GetAwaiter().GetResult()).RootElement.GetProperty("result");
            // Green: nothing left to index (collections below indexing_threshold are searched exactly and never indexed).
            if (info.GetProperty("status").GetString() == "green")
            {
                log.WriteLine($"indexed: {info.GetProperty("indexed_vectors_count").GetInt64()} of {points} points in the graph ({stopwatch.Elapsed.TotalSeconds:F1} s after the last upsert)");
                return;
            }

            if (stopwatch.Elapsed > TimeSpan.FromMinutes(30))
            {
                throw new TimeoutException("the collection did not become green within 30 minutes");
            }

            Thread.Sleep(200);
        }
    }

    private static string QueryBody(Dataset dataset, int q, int? hnswEf, int categories)
    {
        var vector = string.Join(',', dataset.Query(q).ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
        var filter = categories > 0 ? $$$""","filter":{"must":[{"key":"g","match":{"value":{{{q % categories}}}}}]}""" : "";
        return hnswEf is { } ef
            ? $$$"""{"query":[{{{vector}}}],"limit":10{{{filter}}},"params":{"hnsw_ef":{{{ef}}}}}"""
            : $$"""{"query":[{{vector}}],"limit":10{{filter}}}""";
    }

    /// <summary>Recall@10 of the answers wrk's queries get (same bodies, over HTTP) against the exact (filtered) neighbours.</summary>
    private static double MeasureRecall(HttpClient client, Dataset dataset, int? hnswEf, int categories, int[][] truth)
    {
        var queries = Math.Min(1000, dataset.QueryCount);
        var hits = 0;
        for (var q = 0; q < queries; q++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/collections/bench/points/query") { Content = new StringContent(QueryBody(dataset, q, hnswEf, categories), Encoding.UTF8, "application/json") };
            using var response = client.Send(request);
            response.EnsureSuccessStatusCode();
            using var document = JsonDocument.Parse(response.Content.ReadAsStream());
            var ids = document.RootElement.GetProperty("result").GetProperty("points").EnumerateArray().Select(p => p.GetProperty("id").GetInt32()).ToArray();
            hits += Recall.Hits(ids, truth[q], 10);
        }

        return hits / (queries * 10.0);
    }

    /// <summary>The exact top 10 of each of the first 1,000 queries among the points with id mod <paramref name="categories"/> = q mod it.</summary>
    private static int[][] ExactFiltered(Dataset dataset, int categories)
    {
        var queries = Math.Min(1000, dataset.QueryCount);
        var truth = new int[queries][];
        var norms = new float[dataset.BaseCount];
        for (var i = 0; i < norms.Length; i++)
        {
            norms[i] = System.Numerics.Tensors.TensorPrimitives.Norm(dataset.BaseRow(i));
        }

        Parallel.For(0, queries, q =>
        {
            var query = dataset.Query(q);
            var best = new List<(float Distance, int Id)>();
            for (var i = q % categories; i < dataset.BaseCount; i += categories)
            {
                var row = dataset.BaseRow(i);
                best.Add((dataset.Angular ? -System.Numerics.Tensors.TensorPrimitives.Dot(query, row) / Math.Max(norms[i], 1e-30f) : System.Numerics.Tensors.TensorPrimitives.Distance(query, row), i));
            }

            best.Sort((a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Id.CompareTo(b.Id));
            truth[q] = best.Take(10).Select(b => b.Id).ToArray();
        });
        return truth;
    }

    /// <summary>The wrk script; <paramref name="headers"/> are sent with every request (a credential, for the auth-cost benchmark).</summary>
    internal static string WriteWrkScript(Dataset dataset, int? hnswEf, int categories = 0, IReadOnlyDictionary<string, string>? headers = null, string name = "query")
    {
        var builder = new StringBuilder();
        builder.AppendLine("-- generated by Vectorizer.Bench: POSTs /points/query with real query vectors, round robin");
        builder.AppendLine("local bodies = {");
        for (var q = 0; q < Math.Min(1000, dataset.QueryCount); q++)
        {
            var body = QueryBody(dataset, q, hnswEf, categories);
            builder.Append("  [[").Append(body).AppendLine("]],");
        }

        builder.AppendLine("}");
        builder.AppendLine("""
            local counter = 0
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            {{HEADERS}}
            request = function()
              counter = counter + 1
              return wrk.format(nil, "/collections/bench/points/query", nil, bodies[(counter % #bodies) + 1])
            end
            done = function(summary, latency, requests)
              local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
              io.write(string.format("RESULT requests=%d duration_us=%d errors=%d p50_us=%d p99_us=%d\n",
                summary.requests, summary.duration, errors, latency:percentile(50), latency:percentile(99)))
            end
            """);
        var path = Path.Combine(Path.GetTempPath(), $"vectorizer-wrk-{Environment.ProcessId}-{name}{(categories > 0 ? "-filtered" : "")}.lua");
        File.WriteAllText(path, builder.ToString().Replace("{{HEADERS}}", string.Concat((headers ?? new Dictionary<string, string>()).Select(h => $"wrk.headers[\"{h.Key}\"] = \"{h.Value}\"\n")), StringComparison.Ordinal));
        return path;
    }

    internal sealed record WrkResult(double Qps, double P50Ms, double P99Ms, long Errors);

    internal static WrkResult RunWrk(string url, string script, int connections, int seconds, int threads, TextWriter log)
    {
        threads = Math.Min(threads, connections);
        var start = new ProcessStartInfo("wrk", ["-t", threads.ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture), "-d", $"{seconds}s", "-s", script, url])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("wrk not found (apt-get install wrk)");
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        var match = WrkResultLine().Match(output);
        if (!match.Success)
        {
            throw new InvalidOperationException("wrk failed:\n" + output);
        }

        double Get(string name) => double.Parse(match.Groups[name].Value, CultureInfo.InvariantCulture);
        var result = new WrkResult(Get("requests") / (Get("duration") / 1e6), Get("p50") / 1000, Get("p99") / 1000, (long)Get("errors"));
        log.WriteLine($"wrk {connections,3} connections: {result.Qps:F0} QPS, p50 {result.P50Ms:F2} ms, p99 {result.P99Ms:F2} ms, {result.Errors} errors");
        return result;
    }

    [GeneratedRegex(@"RESULT requests=(?<requests>\d+) duration_us=(?<duration>\d+) errors=(?<errors>\d+) p50_us=(?<p50>\d+) p99_us=(?<p99>\d+)")]
    private static partial Regex WrkResultLine();

    internal sealed partial class ServerProcess(Process process, string url) : IDisposable
    {
        public string Url { get; } = url;

        /// <summary>The gRPC address the server printed (Qdrant's API), when it has one.</summary>
        public string? GrpcUrl { get; set; }

        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }

            process.Dispose();
        }
    }

    /// <summary>The <c>vectorizer</c> of this build as a separate process, on a free port; <paramref name="extra"/>: more <c>serve</c> arguments.</summary>
    internal static ServerProcess StartServer(string dataDir, TextWriter log, params string[] extra)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Vectorizer.slnx")))
        {
            directory = directory.Parent;
        }

        var root = directory?.FullName ?? throw new InvalidOperationException("Run from the repository");
        // The server built in the same configuration as this benchmark (Release for real runs, Debug in the test smoke run).
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        // VECTORIZER_BENCH_SERVER: another build's vectorizer.dll (an older commit's, in a worktree of its own), to
        // measure it with this harness alternating with this build's server (bench/results/rest-glove-100k.md).
        var other = Environment.GetEnvironmentVariable("VECTORIZER_BENCH_SERVER");
        var dll = string.IsNullOrEmpty(other) ? Path.Combine(root, "src", "Vectorizer", "bin", configuration, "net10.0", "vectorizer.dll") : other;
        if (!File.Exists(dll) && string.IsNullOrEmpty(other))
        {
            using var build = Process.Start("dotnet", ["build", "-c", configuration, Path.Combine(root, "src", "Vectorizer")])!;
            build.WaitForExit();
        }

        var start = new ProcessStartInfo("dotnet", [dll, "serve", "--host", "127.0.0.1", "--port", "0", "--grpc-port", "0", "--data-dir", dataDir, "--log-level", "warn", .. extra])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start)!;
        var url = new TaskCompletionSource<string>();
        var grpcUrl = new TaskCompletionSource<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } grpcLine && grpcLine.StartsWith("gRPC", StringComparison.Ordinal) && grpcLine.Contains("listening on ", StringComparison.Ordinal))
            {
                grpcUrl.TrySetResult(grpcLine[(grpcLine.IndexOf("listening on ", StringComparison.Ordinal) + 13)..].Split(' ')[0]);
            }
            else if (e.Data is { } line && line.Contains("listening on ", StringComparison.Ordinal))
            {
                url.TrySetResult(line[(line.IndexOf("listening on ", StringComparison.Ordinal) + 13)..].Split(' ')[0]);
            }
            else if (e.Data is { } logLine && (logLine.Contains(" warn: ", StringComparison.Ordinal) || logLine.Contains(" fail: ", StringComparison.Ordinal) || logLine.Contains(" crit: ", StringComparison.Ordinal)))
            {
                log.WriteLine("server: " + logLine); // the server's warnings (console log on stdout)
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                log.WriteLine("server: " + line);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var waiting = Stopwatch.StartNew();
        while (!url.Task.Wait(TimeSpan.FromMilliseconds(200)))
        {
            if (process.HasExited || waiting.Elapsed > TimeSpan.FromSeconds(60))
            {
                if (!process.HasExited)
                {
                    process.Kill();
                }

                throw new InvalidOperationException("server did not start");
            }
        }

        log.WriteLine($"server ({configuration} build, separate process) at {url.Task.Result}");
        _ = grpcUrl.Task.Wait(TimeSpan.FromSeconds(5));
        return new ServerProcess(process, url.Task.Result) { GrpcUrl = grpcUrl.Task.IsCompletedSuccessfully ? grpcUrl.Task.Result : null };
    }
}
