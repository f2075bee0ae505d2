using System.Diagnostics;
using System.Globalization;
using System.Text;
using Vectorizer.Server.Rollouts;

namespace Vectorizer.Bench;

/// <summary>
/// What canary routing costs a read: one server, two collections of the same random points, a plain alias and an alias
/// under a 50 % rollout (routed by <c>X-User-Id</c>); sequential queries through each, interleaved round by round, p50
/// and p99 per round, and the median of the per-round ratios. Also the largest split error of the routing hash over
/// 10,000 distinct keys at every percentage 1-99.
/// </summary>
public static class RolloutBenchmark
{
    public static string Run(int points, int queries, int rounds, TextWriter log)
    {
        var root = Path.Combine(Path.GetTempPath(), "vectorizer-bench", Guid.NewGuid().ToString("N"));
        using var server = RestBenchmark.StartServer(Path.Combine(root, "data"), log);
        using var client = new HttpClient { BaseAddress = new Uri(server.Url) };
        var random = new Random(17);
        const int Dim = 32;
        foreach (var name in new[] { "a", "b" })
        {
            Send(client, HttpMethod.Put, $"/collections/{name}", $$$"""{"vectors": {"size": {{{Dim}}}, "distance": "Cosine"}}""");
            for (var start = 0; start < points; start += 500)
            {
                var body = new StringBuilder("""{"points": [""");
                for (var i = start; i < Math.Min(points, start + 500); i++)
                {
                    body.Append(i > start ? "," : "").Append(CultureInfo.InvariantCulture, $$"""{"id": {{i}}, "vector": {{Vector(random, Dim)}}}""");
                }

                Send(client, HttpMethod.Put, $"/collections/{name}/points?wait=true", body.Append("]}").ToString());
            }
        }

        Send(client, HttpMethod.Post, "/collections/aliases", """
            {"actions": [{"create_alias": {"collection_name": "a", "alias_name": "plain"}}, {"create_alias": {"collection_name": "a", "alias_name": "canaried"}}]}
            """);
        Send(client, HttpMethod.Post, "/api/deployments", """
            {"alias": "canaried", "new_collection": "b", "routing_key": "header:X-User-Id",
             "stages": [{"percentage": 50, "duration_minutes": 600}, {"percentage": 100, "duration_minutes": 600}]}
            """);

        var queryBodies = Enumerable.Range(0, 256).Select(_ => $$"""{"query": {{Vector(random, Dim)}}, "limit": 10}""").ToArray();
        var results = new Dictionary<string, List<(double P50, double P99)>> { ["plain"] = [], ["canaried"] = [] };
        Measure(client, "plain", queryBodies, 500); // warm-up
        Measure(client, "canaried", queryBodies, 500);
        for (var round = 0; round < rounds; round++)
        {
            foreach (var alias in round % 2 == 0 ? new[] { "plain", "canaried" } : ["canaried", "plain"])
            {
                var latencies = Measure(client, alias, queryBodies, queries);
                results[alias].Add((Percentile(latencies, 0.5), Percentile(latencies, 0.99)));
                log.WriteLine($"round {round + 1}, {alias}: p50 {results[alias][^1].P50:0.000} ms, p99 {results[alias][^1].P99:0.000} ms");
            }
        }

        var worst = 0.0;
        var worstAt = 0;
        var buckets = Enumerable.Range(0, 10_000).Select(i => RoutingHash.Bucket($"user-{i}")).ToArray();
        for (var percentage = 1; percentage < 100; percentage++)
        {
            var share = 100.0 * buckets.Count(b => b < percentage) / buckets.Length;
            if (Math.Abs(share - percentage) > worst)
            {
                worst = Math.Abs(share - percentage);
                worstAt = percentage;
            }
        }

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"{points} random {Dim}-dimensional points per collection, `POST /collections/{{alias}}/points/query` (limit 10), one client, sequential requests over one keep-alive connection (HttpClient), {queries} queries per alias per round, {rounds} interleaved rounds; every request carries an `X-User-Id` header (a fresh key per request). `plain` is an alias on `a`; `canaried` is an alias on `a` under a 50 % rollout to `b` (routing, per-side counters, latency histogram, the `X-Vectorizer-Collection` header).");
        report.AppendLine();
        report.AppendLine("| round | plain p50 ms | canaried p50 ms | ratio | plain p99 ms | canaried p99 ms | ratio |");
        report.AppendLine("|---|---|---|---|---|---|---|");
        var p50Ratios = new List<double>();
        var p99Ratios = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var (plain50, plain99) = results["plain"][round];
            var (canary50, canary99) = results["canaried"][round];
            p50Ratios.Add(canary50 / plain50);
            p99Ratios.Add(canary99 / plain99);
            report.AppendLine(CultureInfo.InvariantCulture, $"| {round + 1} | {plain50:0.000} | {canary50:0.000} | {p50Ratios[^1]:0.00} | {plain99:0.000} | {canary99:0.000} | {p99Ratios[^1]:0.00} |");
        }

        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"**Median of per-round ratios (canaried / plain): p50 {Median(p50Ratios):0.00}, p99 {Median(p99Ratios):0.00}.** Median absolute difference: p50 {Median(Enumerable.Range(0, rounds).Select(r => results["canaried"][r].P50 - results["plain"][r].P50).ToList()) * 1000:0} µs, p99 {Median(Enumerable.Range(0, rounds).Select(r => results["canaried"][r].P99 - results["plain"][r].P99).ToList()) * 1000:0} µs.");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Routing split over 10,000 distinct keys (`user-0` … `user-9999`) at every percentage 1-99: largest error {worst:0.00} percentage points (at {worstAt} %).");
        return report.ToString();
    }

    private static List<double> Measure(HttpClient client, string alias, string[] bodies, int count)
    {
        var latencies = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/collections/{alias}/points/query")
            {
                Content = new StringContent(bodies[i % bodies.Length], Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("X-User-Id", "user-" + Guid.NewGuid().ToString("N"));
            var start = Stopwatch.GetTimestamp();
            using var response = client.Send(request);
            response.Content.ReadAsStream().CopyTo(Stream.Null);
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"{alias}: HTTP {(int)response.StatusCode}");
            }
        }

        return latencies;
    }

    private static void Send(HttpClient client, HttpMethod method, string path, string json)
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        using var response = client.Send(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{method} {path}: HTTP {(int)response.StatusCode} {new StreamReader(response.Content.ReadAsStream()).ReadToEnd()}");
        }
    }

    private static string Vector(Random random, int dim) =>
        "[" + string.Join(",", Enumerable.Range(0, dim).Select(_ => (random.NextSingle() - 0.5f).ToString("0.####", CultureInfo.InvariantCulture))) + "]";

    private static double Percentile(List<double> values, double q)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
