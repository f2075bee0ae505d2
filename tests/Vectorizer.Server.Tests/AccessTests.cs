using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Vectors;
using Vectorizer.Server.Application;

namespace Vectorizer.Server.Tests;

/// <summary>The access model the application services enforce for every transport.</summary>
public sealed class AccessTests : IDisposable
{
    private readonly string dataDir = TestServer.NewDataDir();
    private readonly CollectionManager manager;
    private readonly CollectionsService collections;

    public AccessTests()
    {
        manager = CollectionManager.Open(new EngineOptions { DataDir = dataDir }, NullLoggerFactory.Instance);
        collections = new CollectionsService(manager);
        foreach (var name in new[] { "alpha", "beta" })
        {
            manager.Create(name, new CollectionConfig
            {
                Vectors = new Dictionary<string, VectorParams> { [""] = new VectorParams { Size = 2, Distance = Distance.Dot } },
            });
        }

        manager.UpdateAliases([new CreateAlias("alpha", "to-alpha"), new CreateAlias("beta", "to-beta")]);
    }

    public void Dispose()
    {
        manager.Dispose();
        Directory.Delete(dataDir, recursive: true);
    }

    [Theory]
    [InlineData(AccessLevel.Read, true, true)]
    [InlineData(AccessLevel.Write, true, false)]
    [InlineData(AccessLevel.Manage, true, false)]
    public void FullAndReadOnlyAccess(AccessLevel level, bool full, bool readOnly)
    {
        Assert.Equal(full, Access.Full.Allows(level, "alpha"));
        Assert.Equal(full, Access.Full.Allows(level, null));
        Assert.Equal(readOnly, Access.ReadOnly.Allows(level, "alpha"));
        Assert.Equal(readOnly, Access.ReadOnly.Allows(level, null));
    }

    [Fact]
    public void CollectionScopedAccessNeverManagesAndSeesOnlyItsCollections()
    {
        var access = Access.ForCollections(new Dictionary<string, AccessLevel> { ["alpha"] = AccessLevel.Write, ["beta"] = AccessLevel.Read });
        Assert.True(access.Allows(AccessLevel.Write, "alpha"));
        Assert.True(access.Allows(AccessLevel.Read, "beta"));
        Assert.False(access.Allows(AccessLevel.Write, "beta"));
        Assert.False(access.Allows(AccessLevel.Manage, "alpha"));
        Assert.False(access.Allows(AccessLevel.Read, null));
        Assert.False(access.Allows(AccessLevel.Read, "gamma"));

        var call = new CallContext(access, "test");
        Assert.Equal(["alpha", "beta"], collections.List(call));
        var onlyBeta = new CallContext(Access.ForCollections(new Dictionary<string, AccessLevel> { ["beta"] = AccessLevel.Read }), "test");
        Assert.Equal(["beta"], collections.List(onlyBeta));
        Assert.Equal(["to-beta"], collections.ListAliases(onlyBeta).Select(a => a.AliasName));
    }

    [Fact]
    public void AnAliasCountsAsTheCollectionItPointsTo()
    {
        var call = new CallContext(Access.ForCollections(new Dictionary<string, AccessLevel> { ["alpha"] = AccessLevel.Read }), "test");
        Assert.Equal("alpha", collections.Resolve(call, "to-alpha", AccessLevel.Read).Name);
        Assert.Equal(ErrorCode.Forbidden, Assert.Throws<VectorizerException>(() => collections.Resolve(call, "to-beta", AccessLevel.Read)).Code);

        // Repointing the alias moves it out of the caller's scope.
        manager.UpdateAliases([new DeleteAlias("to-alpha"), new CreateAlias("beta", "to-alpha")]);
        Assert.Equal(ErrorCode.Forbidden, Assert.Throws<VectorizerException>(() => collections.Resolve(call, "to-alpha", AccessLevel.Read)).Code);
    }

    [Fact]
    public void AccessIsCheckedBeforeExistence()
    {
        var call = new CallContext(Access.ForCollections(new Dictionary<string, AccessLevel> { ["alpha"] = AccessLevel.Read }), "test");
        Assert.Equal(ErrorCode.Forbidden, Assert.Throws<VectorizerException>(() => collections.Resolve(call, "missing", AccessLevel.Read)).Code);
        Assert.Equal(ErrorCode.CollectionNotFound, Assert.Throws<VectorizerException>(() => collections.Resolve(CallContext.Internal, "missing", AccessLevel.Read)).Code);
        var readOnly = new CallContext(Access.ReadOnly, "test");
        var denied = Assert.Throws<VectorizerException>(() => collections.Delete(readOnly, "alpha"));
        Assert.Equal(ErrorCode.Forbidden, denied.Code);
        Assert.Contains("read-only access", denied.Message, StringComparison.Ordinal);
        Assert.True(collections.Exists(readOnly, "alpha"));
    }
}
