using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Vectorizer.Server.Security;

namespace Vectorizer.Bench;

/// <summary>
/// What authentication costs on query throughput: the same data in two servers, one without auth and one with
/// <c>auth.enabled</c> (keys and JWTs), queried by wrk at one connection count without a credential, with the API key,
/// and with a JWT, interleaved round by round; the headline is the median of the per-round ratios to the open server.
/// </summary>
public static class AuthCostBenchmark
{
    private const string ApiKey = "bench-key-0123456789abcdef0123456789abcdef";
    private const string JwtSecret = "bench-jwt-secret-0123456789abcdef0123456789";

    public sealed record Options(string Dataset, int Points, int Connections, int Seconds, int Rounds, int? HnswEf, int WrkThreads);

    public static string Run(Options options, TextWriter log)
    {
        var dataset = Dataset.Load(options.Dataset, options.Points, 1000, log);
        var root = Path.Combine(Path.GetTempPath(), "vectorizer-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var config = Path.Combine(root, "auth.yml");
        File.WriteAllText(config, $"auth:\n  enabled: true\n  api_key: \"{ApiKey}\"\n  jwt_secret: \"{JwtSecret}\"\n");
        var open = RestBenchmark.StartServer(Path.Combine(root, "open"), log);
        var secured = RestBenchmark.StartServer(Path.Combine(root, "secured"), log, "--config", config);
        try
        {
            var token = new JwtTokens(JwtSecret).Create("r", null, DateTimeOffset.UtcNow.AddDays(1), DateTimeOffset.UtcNow);
            Task.WaitAll(Load(open.Url, null, dataset, log), Load(secured.Url, ApiKey, dataset, log));
            var variants = new (string Name, string Url, string Script)[]
            {
                ("no auth", open.Url, RestBenchmark.WriteWrkScript(dataset, options.HnswEf, name: "open")),
                ("API key (api-key header)", secured.Url, RestBenchmark.WriteWrkScript(dataset, options.HnswEf, headers: new Dictionary<string, string> { ["api-key"] = ApiKey }, name: "key")),
                ("JWT (Authorization: Bearer)", secured.Url, RestBenchmark.WriteWrkScript(dataset, options.HnswEf, headers: new Dictionary<string, string> { ["Authorization"] = "Bearer " + token }, name: "jwt")),
            };
            var qps = variants.Select(_ => new List<double>()).ToArray();
            for (var round = 0; round < options.Rounds; round++)
            {
                for (var k = 0; k < variants.Length; k++)
                {
                    var i = (k + round) % variants.Length; // rotate who goes first
                    log.Write($"round {round + 1}, {variants[i].Name}: ");
                    var result = RestBenchmark.RunWrk(variants[i].Url, variants[i].Script, options.Connections, options.Seconds, options.WrkThreads, log);
                    if (result.Errors > 0)
                    {
                        throw new InvalidOperationException($"{variants[i].Name}: {result.Errors} errors (non-2xx answers or socket errors)");
                    }

                    qps[i].Add(result.Qps);
                }
            }

            var report = new StringBuilder();
            report.AppendLine($"{dataset.BaseCount} points, `POST /collections/bench/points/query` (limit 10{(options.HnswEf is { } ef ? $", hnsw_ef {ef}" : "")}), wrk {options.Connections} connections, {options.Seconds} s per run, {options.Rounds} interleaved rounds; both servers are separate processes on this machine, driven one at a time.");
            report.AppendLine();
            var rows = new List<IReadOnlyList<string>>();
            for (var i = 0; i < variants.Length; i++)
            {
                var ratios = qps[i].Select((q, round) => q / qps[0][round]).ToList();
                rows.Add([variants[i].Name, string.Join(", ", qps[i].Select(q => q.ToString("F0", CultureInfo.InvariantCulture))), Median(qps[i]).ToString("F0", CultureInfo.InvariantCulture),
                    i == 0 ? "1" : Median(ratios).ToString("F3", CultureInfo.InvariantCulture)]);
            }

            report.Append(Stats.Table(["credential", "QPS per round", "median QPS", "median of per-round ratios to no auth"], rows));
            report.AppendLine();
            report.AppendLine(PerCall(token, log));
            return report.ToString();
        }
        finally
        {
            open.Dispose();
            secured.Dispose();
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>The authenticator alone, in this process: what one call costs for each kind of credential (median of 5 runs).</summary>
    private static string PerCall(string token, TextWriter log)
    {
        var authenticator = new Authenticator(new AuthSection { Enabled = true, ApiKey = ApiKey, JwtSecret = JwtSecret });
        string Measure(string? apiKey, string? authorization)
        {
            const int Calls = 20_000;
            var runs = new List<double>();
            for (var run = 0; run < 6; run++)
            {
                var stopwatch = Stopwatch.StartNew();
                for (var i = 0; i < Calls; i++)
                {
                    if (!authenticator.AuthenticateAsync(apiKey, authorization).AsTask().GetAwaiter().GetResult().IsValid)
                    {
                        throw new InvalidOperationException("the credential was refused");
                    }
                }

                if (run > 0)
                {
                    runs.Add(stopwatch.Elapsed.TotalMicroseconds / Calls); // the first run warms up
                }
            }

            return Median(runs).ToString("F1", CultureInfo.InvariantCulture);
        }

        var key = Measure(ApiKey, null);
        var jwt = Measure(null, "Bearer " + token);
        log.WriteLine($"Authenticator per call: API key {key} µs, JWT {jwt} µs");
        return $"The authenticator alone, in process, one thread: **{key} µs** per call with the API key, **{jwt} µs** with a JWT (median of 5 runs of 20,000 calls).";
    }

    private static async Task Load(string url, string? apiKey, Dataset dataset, TextWriter log)
    {
        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(5) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add("api-key", apiKey);
        }

        using (var create = new StringContent("{\"vectors\": {\"size\": " + dataset.Dimension.ToString(CultureInfo.InvariantCulture) + ", \"distance\": \"" + (dataset.Angular ? "Cosine" : "Euclid") + "\"}}", Encoding.UTF8, "application/json"))
        {
            (await client.PutAsync("/collections/bench", create).ConfigureAwait(false)).EnsureSuccessStatusCode();
        }

        var stopwatch = Stopwatch.StartNew();
        for (var start = 0; start < dataset.BaseCount; start += 256)
        {
            using var content = new ByteArrayContent(RestBenchmark.UpsertBody(dataset, start, Math.Min(256, dataset.BaseCount - start)));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await client.PutAsync("/collections/bench/points?wait=true", content).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
        }

        log.WriteLine($"{url}: {dataset.BaseCount} points loaded in {stopwatch.Elapsed.TotalSeconds:F1} s");
        await Task.Run(() => RestBenchmark.WaitIndexed(client, dataset.BaseCount, log)).ConfigureAwait(false);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
