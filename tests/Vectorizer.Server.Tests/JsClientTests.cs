using System.Diagnostics;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>The official Qdrant JavaScript client (@qdrant/js-client-rest) against a real server.</summary>
public class JsClientTests(ITestOutputHelper output)
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    internal static async Task<string> EnsureClientInstalled()
    {
        var folder = Path.Combine(VectorizerProcess.RepositoryRoot(), "tests", "clients", "js");
        await InstallLock.WaitAsync();
        try
        {
            if (!File.Exists(Path.Combine(folder, "node_modules", "@qdrant", "js-client-rest", "package.json")))
            {
                var (code, log) = await Run("npm", folder, "ci", "--no-audit", "--no-fund");
                Assert.True(code == 0, "npm ci failed:\n" + log);
            }
        }
        finally
        {
            InstallLock.Release();
        }

        return folder;
    }

    internal static async Task<(int Code, string Output)> Run(string file, string directory, params string[] arguments)
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

    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task OfficialClientScenarioPasses()
    {
        Prerequisites.Require(Need.Node);
        var folder = await EnsureClientInstalled();
        await using var server = await TestServer.StartAsync();
        var (code, log) = await Run("node", folder, "scenario.mjs", server.Url);
        output.WriteLine(log);
        Assert.True(code == 0, log);
        Assert.Contains("all steps passed", log, StringComparison.Ordinal);
    }

    /// <summary>The same scenario against a server with auth enabled, the client given the key (its <c>apiKey</c> option); without it, 401.</summary>
    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task OfficialClientWithApiKeyOnASecuredServer()
    {
        Prerequisites.Require(Need.Node);
        var folder = await EnsureClientInstalled();
        await using var server = await TestServer.StartAsync(Secure.Configure);
        var (code, log) = await Run("node", folder, "scenario.mjs", server.Url, Secure.FullKey);
        output.WriteLine(log);
        Assert.True(code == 0, log);
        Assert.Contains("ok   without the key the server answers 401", log, StringComparison.Ordinal);
        Assert.Contains("all steps passed", log, StringComparison.Ordinal);
        Assert.DoesNotContain(Secure.FullKey, log, StringComparison.Ordinal);
    }
}
