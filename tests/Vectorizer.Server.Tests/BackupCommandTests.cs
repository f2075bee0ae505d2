using System.Text.RegularExpressions;

namespace Vectorizer.Server.Tests;

/// <summary><c>vectorizer backup ...</c> as child processes: in-process on a stopped server's data directory, and with <c>--url</c>.</summary>
public partial class BackupCommandTests
{
    [GeneratedRegex(@"^(\d{8}T\d{6}Z-(full|incr)-[0-9a-f]{6})", RegexOptions.Multiline)]
    private static partial Regex BackupId();

    [Fact]
    [Trait("Category", "Slow")]
    public async Task CreateListVerifyRestoreDeleteInProcessAndOverHttp()
    {
        var dataDir = TestServer.NewDataDir();
        try
        {
            string before;
            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                await BackupTests.Populate(server, "cli", 80);
                before = await BackupTests.Fingerprint(server, "cli");

                // While the server runs, in-process commands refuse; --url goes through it.
                var (locked, lockedOutput) = await VectorizerProcess.RunAsync("backup", "list", "--data-dir", dataDir);
                Assert.Equal(2, locked);
                Assert.Contains("--url", lockedOutput, StringComparison.Ordinal);

                var (code, output) = await VectorizerProcess.RunAsync("backup", "create", "--collection", "cli", "--url", server.Url, "--data-dir", dataDir);
                Assert.True(code == 0, output);
                var (listed, listOutput) = await VectorizerProcess.RunAsync("backup", "list", "--url", server.Url, "--data-dir", dataDir);
                Assert.Equal(0, listed);
                Assert.Contains("cli", listOutput, StringComparison.Ordinal);
            }

            // Stopped: the same commands in-process.
            var (created, createOutput) = await VectorizerProcess.RunAsync("backup", "create", "--all", "--data-dir", dataDir);
            Assert.True(created == 0, createOutput);
            var id = BackupId().Match(createOutput).Groups[1].Value;
            Assert.NotEmpty(id);
            var file = Path.Combine(TestPaths.Root, $"cli-{Guid.NewGuid():N}.tar.gz");
            var (exported, exportOutput) = await VectorizerProcess.RunAsync("backup", "create", "--collection", "cli", "--output", file, "--data-dir", dataDir);
            Assert.True(exported == 0, exportOutput);
            Assert.True(File.Exists(file));

            var (verified, verifyOutput) = await VectorizerProcess.RunAsync("backup", "verify", file, "--data-dir", dataDir);
            Assert.True(verified == 0, verifyOutput);
            Assert.Contains("valid", verifyOutput, StringComparison.Ordinal);

            var damaged = file + ".damaged.tar.gz";
            File.WriteAllBytes(damaged, BackupTests.Flip(File.ReadAllBytes(file), 4000));
            var (refused, refusedOutput) = await VectorizerProcess.RunAsync("backup", "verify", damaged, "--data-dir", dataDir);
            Assert.Equal(1, refused);
            Assert.Contains("invalid", refusedOutput, StringComparison.Ordinal);

            var (restored, restoreOutput) = await VectorizerProcess.RunAsync("backup", "restore", file, "--as", "cli_drill", "--data-dir", dataDir);
            Assert.True(restored == 0, restoreOutput);
            Assert.Contains("restored: cli_drill (80 points, from cli)", restoreOutput, StringComparison.Ordinal);

            var (deleted, deleteOutput) = await VectorizerProcess.RunAsync("backup", "delete", id, "--data-dir", dataDir);
            Assert.True(deleted == 0, deleteOutput);
            var (_, listAfter) = await VectorizerProcess.RunAsync("backup", "list", "--data-dir", dataDir);
            Assert.DoesNotContain(id, listAfter, StringComparison.Ordinal);

            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                Assert.Equal(before, await BackupTests.Fingerprint(server, "cli"));
                Assert.Equal(80, (await server.Post("/collections/cli_drill/points/count", "{}")).AssertOk().Result.GetProperty("count").GetInt64());
            }
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }

    /// <summary>The restore drill of the README (<c>scripts/restore-drill.sh</c>) against a running server.</summary>
    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task RestoreDrillScriptPasses()
    {
        Prerequisites.Require(Need.Curl);
        await using var server = await TestServer.StartAsync();
        await BackupTests.Populate(server, "drilled", 70);
        var before = await BackupTests.Fingerprint(server, "drilled");
        var script = Path.Combine(VectorizerProcess.RepositoryRoot(), "scripts", "restore-drill.sh");
        var (code, output) = await JsClientTests.Run("bash", TestPaths.Root, script, server.Url, "drilled");
        Assert.True(code == 0, output);
        Assert.Contains("PASS: drilled restored from", output, StringComparison.Ordinal);
        Assert.Contains("(70 points)", output, StringComparison.Ordinal);
        Assert.Equal(before, await BackupTests.Fingerprint(server, "drilled"));
        var names = (await server.Get("/collections")).AssertOk().Result.GetProperty("collections").EnumerateArray().Select(c => c.GetProperty("name").GetString()).ToList();
        Assert.Equal(["drilled"], names);
        Assert.Empty((await server.Get("/api/backups")).AssertOk().Result.GetProperty("backups").EnumerateArray()); // the drill's backup is removed

        var (missing, missingOutput) = await JsClientTests.Run("bash", TestPaths.Root, script, server.Url, "nothing_here");
        Assert.Equal(1, missing);
        Assert.Contains("FAIL", missingOutput, StringComparison.Ordinal);
    }
}
