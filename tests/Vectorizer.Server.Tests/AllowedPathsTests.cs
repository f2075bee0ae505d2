using Vectorizer.Engine.Errors;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Tests;

/// <summary>Paths a request names must resolve (symlinks followed) inside <c>security.allowed_roots</c> or <c>file_watcher.watch_paths</c>.</summary>
public sealed class AllowedPathsTests : IDisposable
{
    private readonly string top = TestPaths.NewDirectory("paths-");
    private readonly string allowed;
    private readonly string outside;

    public AllowedPathsTests()
    {
        allowed = Directory.CreateDirectory(Path.Combine(top, "allowed", "docs")).Parent!.FullName;
        outside = Directory.CreateDirectory(Path.Combine(top, "outside")).FullName;
        File.WriteAllText(Path.Combine(allowed, "docs", "a.md"), "# A\n\ntext\n");
        File.WriteAllText(Path.Combine(outside, "secret.md"), "# Secret\n");
        File.CreateSymbolicLink(Path.Combine(allowed, "escape"), outside);                 // a link out
        File.CreateSymbolicLink(Path.Combine(allowed, "inner"), Path.Combine(allowed, "docs")); // a link that stays in
        File.CreateSymbolicLink(Path.Combine(allowed, "loop"), Path.Combine(allowed, "loop"));
        File.CreateSymbolicLink(Path.Combine(top, "door"), allowed);                           // a link into the allowed tree
    }

    public void Dispose() => TestPaths.TryDelete(top);

    [Fact]
    public void ResolvesLinksAndDotDotLikeTheKernel()
    {
        Assert.Equal(outside, AllowedPaths.Resolve(Path.Combine(allowed, "escape")));
        Assert.Equal(Path.Combine(outside, "secret.md"), AllowedPaths.Resolve(Path.Combine(allowed, "escape", "secret.md")));
        Assert.Equal(Path.Combine(allowed, "docs"), AllowedPaths.Resolve(Path.Combine(allowed, "inner")));
        Assert.Equal(allowed, AllowedPaths.Resolve(Path.Combine(top, "door")));
        Assert.Equal(top, AllowedPaths.Resolve(Path.Combine(allowed, "docs", "..", "..")));
        // `..` after a link applies to the link's target, as the kernel does (GetFullPath would say allowed/x).
        Assert.Equal(Path.Combine(top, "x"), AllowedPaths.Resolve(Path.Combine(allowed, "escape", "..", "x")));
        Assert.Equal(Path.Combine(allowed, "missing", "deeper"), AllowedPaths.Resolve(Path.Combine(allowed, "missing", "deeper")));
        Assert.Throws<IOException>(() => AllowedPaths.Resolve(Path.Combine(allowed, "loop", "x")));
    }

    [Fact]
    public void ConfinesToTheRootsAfterResolving()
    {
        var paths = new AllowedPaths([allowed]);
        Assert.Equal(Path.Combine(allowed, "docs"), paths.Confine(Path.Combine(allowed, "docs"), "root"));
        Assert.Equal(Path.Combine(allowed, "docs"), paths.Confine(Path.Combine(allowed, "inner"), "root"));
        Assert.Equal(allowed, paths.Confine(Path.Combine(top, "door"), "root"));
        foreach (var refused in new[] { Path.Combine(allowed, "escape"), Path.Combine(allowed, ".."), Path.Combine(allowed, "docs", "..", "..", "outside"), "/etc", "/", allowed + "-sibling" })
        {
            var e = Assert.Throws<VectorizerException>(() => paths.Confine(refused, "root"));
            Assert.Equal(ErrorCode.Forbidden, e.Code);
            Assert.Contains("security.allowed_roots", e.Message, StringComparison.Ordinal);
        }

        var none = Assert.Throws<VectorizerException>(() => new AllowedPaths([]).Confine(allowed, "root"));
        Assert.Contains("none is configured", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheHealthCheckReadsOnlyAllowedRoots()
    {
        await using var server = await TestServer.StartAsync(s => s.Security.AllowedRoots = [allowed]);
        (await server.Put("/collections/kb", """{"embedding": {"dense": {"provider": "hash", "dimension": 16}}}""")).AssertOk();
        string Query(string root) => "/api/health-check?collection=kb&root=" + Uri.EscapeDataString(root);

        (await server.Get(Query(Path.Combine(allowed, "docs")))).AssertOk();
        (await server.Get(Query(Path.Combine(allowed, "inner")))).AssertOk();
        (await server.Get(Query(Path.Combine(top, "door")))).AssertOk();
        foreach (var root in new[] { "/etc", outside, Path.Combine(allowed, "escape"), Path.Combine(allowed, "..", "outside"), Path.Combine(allowed, "docs", "..", "..") })
        {
            (await server.Get(Query(root))).AssertError(403, "security.allowed_roots");
            (await server.Post(Query(root) + "&fix=true", "")).AssertError(403, "security.allowed_roots");
        }

        (await server.Get("/api/health-check?root=%2Fetc")).AssertError(403, "security.allowed_roots");

        // A relative root is relative to the server's working directory, which is not allowed here.
        (await server.Get(Query("etc"))).AssertError(403, "security.allowed_roots");
    }

    [Fact]
    public async Task WatchPathsAreAllowedRoots()
    {
        await using var server = await TestServer.StartAsync(s =>
        {
            s.FileWatcher.Enabled = true;
            s.FileWatcher.WatchPaths = [Path.Combine(allowed, "docs")];
        });
        (await server.Get("/api/health-check?collection=all&root=" + Uri.EscapeDataString(Path.Combine(allowed, "docs")))).AssertOk();
        (await server.Get("/api/health-check?collection=all&root=" + Uri.EscapeDataString(allowed))).AssertError(403, "file_watcher.watch_paths");
    }
}
