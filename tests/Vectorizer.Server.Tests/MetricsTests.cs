using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Vectorizer.Server.Tests;

/// <summary>
/// <c>/metrics</c> after real traffic: checked by Prometheus's own <c>promtool check metrics</c>, scraped by a real
/// Prometheus whose query API then answers for the routes called, and compared with every metric the alert rules and
/// the Grafana dashboard in <c>monitoring/</c> use.
/// </summary>
public sealed partial class MetricsTests
{
    private const string QueryRoute = "/collections/{collection}/points/query";

    /// <summary>Creates a collection, writes, queries, misses, and adds a text document (embedding metrics).</summary>
    private static async Task TrafficAsync(TestServer server, string collection, int queries)
    {
        await server.CreateCollection(collection);
        (await server.Put($"/collections/{collection}/points?wait=true", """
            {"points": [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4]}, {"id": 2, "vector": [0.4, 0.3, 0.2, 0.1]}]}
            """)).AssertOk();
        for (var i = 0; i < queries; i++)
        {
            (await server.Post($"/collections/{collection}/points/query", """{"query": [0.1, 0.2, 0.3, 0.4], "limit": 1}""")).AssertOk();
        }

        Assert.Equal(404, (await server.Get("/collections/definitely-missing")).Status);
        Assert.Equal(404, (await server.Get("/no/such/endpoint")).Status);
        (await server.Put($"/collections/{collection}-text", """{"embedding": {"dense": {"provider": "hash", "dimension": 64}}}""")).AssertOk();
        (await server.Post($"/collections/{collection}-text/documents?wait=true", """{"documents": [{"text": "metrics are counted"}]}""")).AssertOk();
    }

    [Fact]
    public async Task MetricsCountRequestsByRouteAndReportCollections()
    {
        await using var server = await TestServer.StartAsync();
        await TrafficAsync(server, "counted", queries: 5);
        var text = await server.Client.GetStringAsync("/metrics");

        var samples = Samples(text);
        Assert.Equal(5, samples.Single(s => s.Name == "vectorizer_http_requests_total" && s.Labels["route"] == QueryRoute && s.Labels["status"] == "200").Value);
        Assert.Contains(samples, s => s.Name == "vectorizer_http_requests_total" && s.Labels["route"] == "unmatched" && s.Labels["status"] == "404" && s.Value >= 1);
        Assert.Contains(samples, s => s.Name == "vectorizer_http_request_duration_seconds_count" && s.Labels["route"] == QueryRoute && s.Value == 5);
        Assert.Equal(2, samples.Single(s => s.Name == "vectorizer_collection_points" && s.Labels["collection"] == "counted").Value);
        Assert.True(samples.Single(s => s.Name == "vectorizer_collection_wal_bytes" && s.Labels["collection"] == "counted").Value > 0);
        Assert.Equal(1, samples.Single(s => s.Name == "vectorizer_collection_operations_since_checkpoint" && s.Labels["collection"] == "counted").Value);
        Assert.Equal(1, samples.Single(s => s.Name == "vectorizer_collection_status" && s.Labels["collection"] == "counted").Value);
        Assert.Contains(samples, s => s.Name == "vectorizer_embedding_texts_total" && s.Labels["provider"] == "hash" && s.Value >= 1);
        Assert.Contains(samples, s => s.Name == "app_info" && s.Labels["name"] == "vectorizer");
        Assert.Contains(samples, s => s.Name == "collections_total" && s.Value >= 2);
        Assert.Contains(samples, s => s.Name == "dotnet_process_memory_working_set_bytes" && s.Value > 0);
        Assert.Contains(samples, s => s.Name == "dotnet_process_cpu_time_seconds_total");
        Assert.Contains(samples, s => s.Name == "dotnet_gc_collections_total");
        Assert.DoesNotContain(samples, s => s.Labels.TryGetValue("route", out var route) && route.Contains("counted", StringComparison.Ordinal)); // templates, never paths
    }

    [Fact]
    public async Task MetricsOffRemovesTheEndpoint()
    {
        await using var server = await TestServer.StartAsync(s => s.Metrics.Enabled = false);
        await server.CreateCollection("quiet");
        Assert.Equal(404, (await server.Get("/metrics")).Status);
        Assert.Equal(200, (await server.Get("/health/detailed")).Status);
    }

    [SkippableFact]
    public async Task PromtoolAcceptsTheExposition()
    {
        Prerequisites.Require(Need.Prometheus);
        await using var server = await TestServer.StartAsync();
        await TrafficAsync(server, "linted", queries: 3);
        var text = await server.Client.GetStringAsync("/metrics");
        var (code, output) = await RunAsync("promtool", ["check", "metrics"], text);
        // The one finding allowed: Qdrant's own `collections_total` is a gauge (kept so Qdrant's dashboards work).
        var findings = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => !line.StartsWith("collections_total non-counter metrics should not have \"_total\" suffix", StringComparison.Ordinal))
            .ToList();
        Assert.True(findings.Count == 0, $"promtool check metrics (exit {code}):\n{output}");
    }

    [SkippableFact]
    public async Task AlertRulesAndDashboardUseOnlyExportedMetrics()
    {
        Prerequisites.Require(Need.Prometheus);
        var monitoring = Path.Combine(VectorizerProcess.RepositoryRoot(), "monitoring");
        var rules = Path.Combine(monitoring, "prometheus", "alerts.yml");
        var (code, output) = await RunAsync("promtool", ["check", "rules", rules]);
        Assert.True(code == 0, output);

        var expressions = new List<(string Where, string Expr)>();
        var yaml = new YamlStream();
        yaml.Load(new StringReader(await File.ReadAllTextAsync(rules)));
        foreach (var group in (YamlSequenceNode)((YamlMappingNode)yaml.Documents[0].RootNode)["groups"])
        {
            foreach (var rule in (YamlSequenceNode)((YamlMappingNode)group)["rules"])
            {
                var mapping = (YamlMappingNode)rule;
                expressions.Add(("alert " + mapping["alert"], ((YamlScalarNode)mapping["expr"]).Value!));
            }
        }

        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(monitoring, "grafana", "dashboards", "vectorizer.json")));
        foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
        {
            foreach (var target in panel.TryGetProperty("targets", out var targets) ? targets.EnumerateArray() : default)
            {
                expressions.Add(("panel " + panel.GetProperty("title").GetString(), target.GetProperty("expr").GetString()!));
            }
        }

        foreach (var variable in dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            if (variable.TryGetProperty("definition", out var definition) && Regex.Match(definition.GetString()!, @"label_values\((\w+)") is { Success: true } metric)
            {
                expressions.Add(("variable " + variable.GetProperty("name").GetString(), metric.Groups[1].Value));
            }
        }

        await using var server = await TestServer.StartAsync();
        await TrafficAsync(server, "dashboarded", queries: 2);
        var exported = Samples(await server.Client.GetStringAsync("/metrics")).Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        exported.Add("up"); // Prometheus's own, per target
        var missing = new List<string>();
        foreach (var (where, expr) in expressions)
        {
            foreach (var name in MetricNames(expr))
            {
                if (!exported.Contains(name))
                {
                    missing.Add($"{where}: {name}");
                }
            }
        }

        Assert.True(expressions.Count > 40, $"only {expressions.Count} expressions found");
        Assert.True(missing.Count == 0, "not exported:\n" + string.Join('\n', missing));
    }

    /// <summary>
    /// A real Prometheus scrapes a server with authentication on (<c>metrics.require_auth</c> at its default): the job
    /// given the read-only key as a bearer token (<c>authorization: credentials_file</c>, as monitoring/ documents) is up
    /// and its data answers <c>rate()</c> by route; a job without a credential is down.
    /// </summary>
    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task ARealPrometheusScrapesTheServerAndAnswersRateByRoute()
    {
        Prerequisites.Require(Need.Prometheus);
        await using var server = await TestServer.StartAsync(Secure.Configure);
        server.Client.DefaultRequestHeaders.Add(Security.Authenticator.ApiKeyHeader, Secure.FullKey);
        var target = new Uri(server.Url);
        var directory = TestPaths.NewPath("prometheus-");
        Directory.CreateDirectory(directory);
        var keyFile = Path.Combine(directory, "vectorizer-read-key");
        await File.WriteAllTextAsync(keyFile, Secure.ReadKey + "\n");
        var port = TestPorts.Free();
        await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: vectorizer
                authorization:
                  type: Bearer
                  credentials_file: {keyFile}
                static_configs:
                  - targets: ["{target.Authority}"]
              - job_name: anonymous
                static_configs:
                  - targets: ["{target.Authority}"]
            """);
        using var prometheus = Process.Start(new ProcessStartInfo("prometheus",
        [
            "--config.file=" + Path.Combine(directory, "prometheus.yml"), "--storage.tsdb.path=" + Path.Combine(directory, "tsdb"),
            $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
        ])
        { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var log = new StringBuilder();
        prometheus.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        prometheus.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        prometheus.BeginOutputReadLine();
        prometheus.BeginErrorReadLine();
        try
        {
            using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
            await server.CreateCollection("scraped");
            (await server.Put("/collections/scraped/points?wait=true", """{"points": [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4]}]}""")).AssertOk();
            var query = Uri.EscapeDataString("sum by (route, method) (rate(vectorizer_http_requests_total{job=\"vectorizer\", status=\"200\"}[1m]))");
            var routes = new Dictionary<string, double>();
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                // Traffic between scrapes: rate() needs two samples of a growing counter.
                for (var i = 0; i < 5; i++)
                {
                    (await server.Post("/collections/scraped/points/query", """{"query": [0.1, 0.2, 0.3, 0.4], "limit": 1}""")).AssertOk();
                }

                await Task.Delay(500);
                try
                {
                    using var answer = JsonDocument.Parse(await api.GetStringAsync($"/api/v1/query?query={query}"));
                    routes = answer.RootElement.GetProperty("data").GetProperty("result").EnumerateArray().ToDictionary(
                        r => r.GetProperty("metric").GetProperty("method").GetString() + " " + r.GetProperty("metric").GetProperty("route").GetString(),
                        r => double.Parse(r.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture));
                }
                catch (HttpRequestException)
                {
                    continue; // Prometheus still starting
                }

                if (routes.TryGetValue("POST " + QueryRoute, out var rate) && rate > 0 && routes.ContainsKey("GET /metrics"))
                {
                    break;
                }
            }

            Assert.True(routes.TryGetValue("POST " + QueryRoute, out var queries) && queries > 0, $"rate by route: {string.Join(", ", routes)}\n{log}");
            Assert.True(routes.ContainsKey("PUT /collections/{collection}"), string.Join(", ", routes));
            Assert.True(routes.ContainsKey("GET /metrics"), string.Join(", ", routes)); // Prometheus's own scrapes

            using var up = JsonDocument.Parse(await api.GetStringAsync("/api/v1/query?query=up"));
            var upByJob = up.RootElement.GetProperty("data").GetProperty("result").EnumerateArray().ToDictionary(
                r => r.GetProperty("metric").GetProperty("job").GetString()!, r => r.GetProperty("value")[1].GetString());
            Assert.Equal("1", upByJob["vectorizer"]);
            Assert.Equal("0", upByJob["anonymous"]); // refused: 401 without a credential

            using var targets = JsonDocument.Parse(await api.GetStringAsync("/api/v1/targets"));
            var refused = targets.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
                .Single(t => t.GetProperty("labels").GetProperty("job").GetString() == "anonymous");
            Assert.Contains("401", refused.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            prometheus.Kill(entireProcessTree: true);
            await prometheus.WaitForExitAsync();
            TestPaths.TryDelete(directory);
        }
    }

    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    /// <summary>The samples of a Prometheus text exposition.</summary>
    public static List<Sample> Samples(string exposition)
    {
        var samples = new List<Sample>();
        foreach (var line in exposition.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var match = SampleLine().Match(line);
            Assert.True(match.Success, "not a sample: " + line);
            var labels = LabelPair().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal);
            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "NaN" => double.NaN,
                var v => double.Parse(v, CultureInfo.InvariantCulture),
            };
            samples.Add(new Sample(match.Groups["name"].Value, labels, value));
        }

        return samples;
    }

    /// <summary>
    /// Metric names a PromQL expression reads: identifiers that are not functions, keywords, label names or
    /// Grafana variables; histogram series count as themselves (<c>_bucket</c>, <c>_sum</c>, <c>_count</c>).
    /// </summary>
    public static IEnumerable<string> MetricNames(string expr)
    {
        var withoutStrings = Regex.Replace(expr, "\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"");
        withoutStrings = Regex.Replace(withoutStrings, @"\{[^}]*\}", "{}"); // label matchers
        withoutStrings = Regex.Replace(withoutStrings, @"\[[^\]]*\]", "[]"); // ranges
        withoutStrings = Regex.Replace(withoutStrings, @"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "");
        withoutStrings = Regex.Replace(withoutStrings, @"\$\w+", "");
        foreach (Match match in Regex.Matches(withoutStrings, @"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*(?![\w(])(?!\s*\()"))
        {
            var name = match.Value;
            if (!PromQlWords.Contains(name))
            {
                yield return name;
            }
        }
    }

    private static readonly HashSet<string> PromQlWords = new(StringComparer.Ordinal)
    {
        "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "inf", "nan", "le",
    };

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)( \d+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();


    public static async Task<(int Code, string Output)> RunAsync(string program, string[] arguments, string? input = null)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = input is not null };
        using var process = Process.Start(start)!;
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return (process.ExitCode, await stdout + await stderr);
    }
}
