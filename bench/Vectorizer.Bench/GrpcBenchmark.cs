using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Qdrant.Client;
using Qdrant.Client.Grpc;

namespace Vectorizer.Bench;

/// <summary>
/// Upsert and query throughput through the two transports of one server process: REST (JSON over HTTP/1.1, HttpClient)
/// and gRPC (protobuf over HTTP/2, the official Qdrant.Client). Same points, same queries, same number of concurrent
/// clients; each round measures both (alternating which goes first) on fresh collections, and the report gives the
/// median of the per-round gRPC/REST ratios, as the machine's noise between rounds is larger than the differences.
/// </summary>
public static class GrpcBenchmark
{
    public sealed record Options(string Dataset, int Points, int Batch, int Clients, int Queries, int Rounds);

    public static string Run(Options options, TextWriter log)
    {
        var dataset = Dataset.Load(options.Dataset, options.Points, 1000, log);
        var dataDir = Path.Combine(Path.GetTempPath(), "vectorizer-bench", Guid.NewGuid().ToString("N"));
        var server = RestBenchmark.StartServer(dataDir, log);
        try
        {
            var grpcUrl = server.GrpcUrl ?? throw new InvalidOperationException("the server printed no gRPC address");
            using var http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromMinutes(5) };
            using var grpc = new QdrantClient(new Uri(grpcUrl));
            var distance = dataset.Angular ? "Cosine" : "Euclid";

            // Requests are built before the clock starts: what is measured is the transport and the server.
            var restBatches = new List<byte[]>();
            var grpcBatches = new List<List<PointStruct>>();
            for (var start = 0; start < dataset.BaseCount; start += options.Batch)
            {
                var count = Math.Min(options.Batch, dataset.BaseCount - start);
                restBatches.Add(RestUpsert(dataset, start, count));
                grpcBatches.Add([.. Enumerable.Range(start, count).Select(i => new PointStruct { Id = (ulong)i, Vectors = dataset.BaseRow(i).ToArray(), Payload = { ["i"] = i } })]);
            }

            var queryCount = Math.Min(1000, dataset.QueryCount);
            var restQueries = Enumerable.Range(0, queryCount).Select(q => Encoding.UTF8.GetBytes(
                "{\"query\": [" + string.Join(',', dataset.Query(q).ToArray().Select(f => f.ToString("R", CultureInfo.InvariantCulture))) + "], \"limit\": 10}")).ToList();
            var grpcQueries = Enumerable.Range(0, queryCount).Select(q => dataset.Query(q).ToArray()).ToList();

            var rows = new List<IReadOnlyList<string>>();
            var upsertRatios = new List<double>();
            var queryRatios = new List<double>();
            for (var round = 1; round <= options.Rounds; round++)
            {
                var results = new Dictionary<string, (double Upsert, double Query)>();
                foreach (var transport in round % 2 == 1 ? new[] { "rest", "grpc" } : ["grpc", "rest"])
                {
                    var collection = $"bench-{transport}-{round}";
                    Send(http, HttpMethod.Put, $"/collections/{collection}", $"{{\"vectors\": {{\"size\": {dataset.Dimension}, \"distance\": \"{distance}\"}}}}");
                    var upsert = transport == "rest"
                        ? Parallel(options.Clients, restBatches.Count, async i =>
                        {
                            using var content = new ByteArrayContent(restBatches[i]);
                            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                            using var response = await http.PutAsync($"/collections/{collection}/points?wait=true", content).ConfigureAwait(false);
                            response.EnsureSuccessStatusCode();
                        })
                        : Parallel(options.Clients, grpcBatches.Count, i => grpc.UpsertAsync(collection, grpcBatches[i], wait: true));
                    var upsertRate = dataset.BaseCount / upsert;
                    var query = transport == "rest"
                        ? Parallel(options.Clients, options.Queries, async i =>
                        {
                            using var content = new ByteArrayContent(restQueries[i % queryCount]);
                            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                            using var response = await http.PostAsync($"/collections/{collection}/points/query", content).ConfigureAwait(false);
                            response.EnsureSuccessStatusCode();
                            await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                        })
                        : Parallel(options.Clients, options.Queries, i => grpc.QueryAsync(collection, grpcQueries[i % queryCount], limit: 10));
                    var queryRate = options.Queries / query;
                    results[transport] = (upsertRate, queryRate);
                    log.WriteLine($"round {round} {transport}: upsert {upsertRate:F0} points/s, query {queryRate:F0} QPS");
                    rows.Add([round.ToString(CultureInfo.InvariantCulture), transport, Stats.F(upsertRate, 0), Stats.F(queryRate, 0)]);
                    Send(http, HttpMethod.Delete, $"/collections/{collection}", null);
                }

                upsertRatios.Add(results["grpc"].Upsert / results["rest"].Upsert);
                queryRatios.Add(results["grpc"].Query / results["rest"].Query);
            }

            var report = new StringBuilder();
            report.AppendLine($"{dataset.Name}: {dataset.BaseCount} points ({dataset.Dimension} dims) upserted in batches of {options.Batch} with `wait=true`, then {options.Queries} queries (limit 10, {queryCount} real query vectors); {options.Clients} concurrent clients per transport; REST = HttpClient with JSON, gRPC = Qdrant.Client 1.20; one server process, {options.Rounds} interleaved rounds on fresh collections (collections stay under the indexing threshold only if small: the HNSW build runs in the background either way).");
            report.AppendLine();
            report.Append(Stats.Table(["round", "transport", "upsert points/s", "query QPS"], rows));
            report.AppendLine();
            report.AppendLine($"Median of per-round ratios, gRPC / REST: upsert **{Median(upsertRatios):F2}×**, query **{Median(queryRatios):F2}×** (rounds: upsert {string.Join(", ", upsertRatios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))}; query {string.Join(", ", queryRatios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))}).");
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

    /// <summary>Runs <paramref name="count"/> calls on <paramref name="clients"/> concurrent workers; returns the seconds taken.</summary>
    private static double Parallel(int clients, int count, Func<int, Task> call)
    {
        var next = -1;
        var stopwatch = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                await call(i).ConfigureAwait(false);
            }
        })).ToArray();
        Task.WaitAll(workers);
        return stopwatch.Elapsed.TotalSeconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static byte[] RestUpsert(Dataset dataset, int start, int count)
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
                writer.WriteNumber("i", i);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void Send(HttpClient client, HttpMethod method, string path, string? json)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = client.Send(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {response.Content.ReadAsStringAsync().Result}");
        }
    }
}
