using System.Diagnostics;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>The official Qdrant JavaScript client reads through an alias under a canary rollout, unchanged.</summary>
public sealed class RolloutJsClientTests(ITestOutputHelper output)
{
    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task OfficialClientSeesRoutedAnswersThroughTheAlias()
    {
        Prerequisites.Require(Need.Node);
        var folder = Path.Combine(VectorizerProcess.RepositoryRoot(), "tests", "clients", "js");
        if (!File.Exists(Path.Combine(folder, "node_modules", "@qdrant", "js-client-rest", "package.json")))
        {
            var (installed, npmLog) = await Run("npm", folder, "ci", "--no-audit", "--no-fund");
            Assert.True(installed == 0, "npm ci failed:\n" + npmLog);
        }

        await using var server = await RolloutTests.StartServer();
        await RolloutTests.Setup(server);
        var id = (await server.Post("/api/deployments", """
            {"alias": "docs", "new_collection": "docs_v2", "routing_key": "header:X-User-Id",
             "stages": [{"percentage": 50, "duration_minutes": 60}, {"percentage": 100, "duration_minutes": 60}]}
            """)).AssertOk().Result.GetProperty("id").GetString();

        var (code, log) = await Run("node", folder, "rollout.mjs", server.Url, "docs");
        output.WriteLine(log);
        Assert.True(code == 0, log);
        Assert.Contains("all steps passed", log, StringComparison.Ordinal);

        // 40 users × (3 queries + 1 retrieve), every one counted by the rollout.
        var metrics = (await server.Get($"/api/deployments/{id}")).AssertOk().Result.GetProperty("stage_metrics");
        Assert.Equal(160, metrics.GetProperty("old").GetProperty("requests").GetInt64() + metrics.GetProperty("new").GetProperty("requests").GetInt64());
    }

    private static async Task<(int Code, string Output)> Run(string file, string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["TMPDIR"] = TestPaths.Root;
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        return (process.ExitCode, await stdout + await stderr);
    }
}
