namespace Vectorizer.Server.Tests;

/// <summary>One process per data directory: a second server is refused with a message; the lock goes with the first.</summary>
public sealed class DataDirectoryLockTests
{
    [Fact]
    public async Task SecondServerOnALockedDataDirectoryExitsWithAMessage()
    {
        var dataDir = TestServer.NewDataDir();
        try
        {
            await using (await TestServer.StartAsync(dataDir: dataDir))
            {
                var (code, stdout, stderr) = await VectorizerProcess.RunSplitAsync("serve", "--host", "127.0.0.1", "--port", "0", "--grpc-port", "0", "--data-dir", dataDir);
                Assert.True(code == 2, stdout + stderr);
                var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)); // one line, no stack trace
                Assert.StartsWith($"error: data directory {dataDir} is in use by another Vectorizer process", line, StringComparison.Ordinal);
                Assert.DoesNotContain("Exception", stdout + stderr, StringComparison.Ordinal);
            }

            // Stopped gracefully: the lock is released and the directory opens again.
            await using var reopened = await TestServer.StartAsync(dataDir: dataDir);
            (await reopened.Get("/collections")).AssertOk();
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }
}
