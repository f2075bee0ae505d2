using Vectorizer.Server.Backups;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Golden backup archives of format version 1 (<c>Fixtures/backup-v1</c>: a full backup of the <c>golden</c> collection
/// — dense, sparse and named vectors, payloads, payload indexes, quantization, an alias — and an incremental on it with
/// writes, updates and deletes), written by the code of issue 12's first version. Every later version must verify and
/// restore them to the same state; a format change adds a <c>backup-v2</c> folder beside them, never replaces them.
/// <c>VECTORIZER_WRITE_BACKUP_GOLDEN=1</c> writes them again (only when a new format version is introduced).
/// </summary>
public sealed class BackupGoldenTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "backup-v1");
    private static readonly string Source = Path.Combine(VectorizerProcess.RepositoryRoot(), "tests", "Vectorizer.Server.Tests", "Fixtures", "backup-v1");

    [Fact]
    public async Task VersionOneArchivesVerifyAndRestoreToTheRecordedState()
    {
        if (Environment.GetEnvironmentVariable("VECTORIZER_WRITE_BACKUP_GOLDEN") == "1")
        {
            await WriteFixtures();
        }

        var expected = File.ReadAllText(Path.Combine(Fixtures, "expected.txt"));
        await using var server = await TestServer.StartAsync();
        var backups = Path.Combine(server.DataDir, "backups");
        Directory.CreateDirectory(backups);
        foreach (var file in Directory.GetFiles(Fixtures, "*.tar.gz"))
        {
            File.Copy(file, Path.Combine(backups, Path.GetFileName(file)));
            Assert.Equal(1, BackupArchive.ReadManifest(file).Format);
        }

        var incremental = Path.GetFileName(Directory.GetFiles(Fixtures, "*-incr-*.tar.gz").Single())[..^".tar.gz".Length];
        (await server.Post("/api/backups/verify", $$"""{"backup_id": "{{incremental}}"}""")).AssertOk();
        (await server.Post("/api/backups/restore", $$"""{"backup_id": "{{incremental}}"}""")).AssertOk();
        Assert.Equal(expected, await BackupTests.Fingerprint(server, "golden"));
    }

    private static async Task WriteFixtures()
    {
        Directory.CreateDirectory(Source);
        Directory.CreateDirectory(Fixtures);
        foreach (var old in Directory.GetFiles(Source))
        {
            File.Delete(old);
        }

        await using var server = await TestServer.StartAsync();
        await BackupTests.Populate(server, "golden", 40);
        await BackupTests.CreateBackup(server, "golden");
        var batch = string.Join(",", Enumerable.Range(35, 10).Select(i => BackupTests.Point(i, "g")));
        (await server.Put("/collections/golden/points?wait=true", $$"""{"points": [{{batch}}]}""")).AssertOk();
        (await server.Post("/collections/golden/points/delete?wait=true", """{"points": [1, 2, 3]}""")).AssertOk();
        (await server.Post("/collections/golden/points/payload?wait=true", """{"payload": {"golden": true}, "points": [10, 11]}""")).AssertOk();
        await BackupTests.CreateBackup(server, "golden", incremental: true);
        foreach (var file in Directory.GetFiles(Path.Combine(server.DataDir, "backups"), "*.tar.gz"))
        {
            File.Copy(file, Path.Combine(Source, Path.GetFileName(file)));
            File.Copy(file, Path.Combine(Fixtures, Path.GetFileName(file)), overwrite: true);
        }

        var fingerprint = await BackupTests.Fingerprint(server, "golden");
        File.WriteAllText(Path.Combine(Source, "expected.txt"), fingerprint);
        File.WriteAllText(Path.Combine(Fixtures, "expected.txt"), fingerprint);
    }
}
