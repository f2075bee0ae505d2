using Microsoft.Extensions.VectorData;
using Vectorizer.VectorData;

namespace Vectorizer.Server.Tests;

/// <summary>The Microsoft.Extensions.VectorData connector against a real server.</summary>
public class VectorDataTests
{
    public sealed class Hotel
    {
        [VectorStoreKey]
        public ulong HotelId { get; set; }

        [VectorStoreData(IsIndexed = true)]
        public string HotelName { get; set; } = "";

        [VectorStoreData(IsFullTextIndexed = true)]
        public string Description { get; set; } = "";

        [VectorStoreData(IsIndexed = true)]
        public int Rating { get; set; }

        [VectorStoreData]
        public string[] Tags { get; set; } = [];

        [VectorStoreVector(4, DistanceFunction = DistanceFunction.CosineSimilarity)]
        public ReadOnlyMemory<float>? Embedding { get; set; }
    }

    public sealed class Note
    {
        [VectorStoreKey]
        public Guid Id { get; set; }

        [VectorStoreData]
        public string Text { get; set; } = "";

        [VectorStoreVector(3, DistanceFunction = DistanceFunction.EuclideanDistance)]
        public float[] Vector { get; set; } = [];
    }

    private static readonly Hotel[] Hotels =
    [
        new() { HotelId = 1, HotelName = "Seaside", Description = "quiet rooms by the sea with a pool", Rating = 5, Tags = ["pool", "sea"], Embedding = new[] { 1f, 0f, 0f, 0f } },
        new() { HotelId = 2, HotelName = "Downtown", Description = "busy city hotel near the station", Rating = 3, Tags = ["city"], Embedding = new[] { 0.9f, 0.1f, 0f, 0f } },
        new() { HotelId = 3, HotelName = "Mountain", Description = "cabins in the mountains, hiking and a sauna", Rating = 4, Tags = ["sauna"], Embedding = new[] { 0f, 1f, 0f, 0f } },
        new() { HotelId = 4, HotelName = "Lakeside", Description = "a lake, a pool and boats", Rating = 2, Tags = ["pool", "lake"], Embedding = new[] { 0.7f, 0.7f, 0f, 0f } },
    ];

    private static VectorizerVectorStore Store(TestServer server) => new(server.Client);

    [Fact]
    public async Task UpsertGetSearchFilterDelete()
    {
        await using var server = await TestServer.StartAsync();
        var store = Store(server);
        var hotels = store.GetCollection<ulong, Hotel>("hotels");
        Assert.False(await hotels.CollectionExistsAsync());
        await hotels.EnsureCollectionExistsAsync();
        await hotels.EnsureCollectionExistsAsync();
        Assert.True(await store.CollectionExistsAsync("hotels"));
        Assert.Contains("hotels", await store.ListCollectionNamesAsync().ToListAsync());

        await hotels.UpsertAsync(Hotels);
        var one = await hotels.GetAsync(3ul, new RecordRetrievalOptions { IncludeVectors = true });
        Assert.NotNull(one);
        Assert.Equal("Mountain", one!.HotelName);
        Assert.Equal(["sauna"], one.Tags);
        Assert.Equal([0f, 1f, 0f, 0f], one.Embedding!.Value.ToArray());
        Assert.Null(await hotels.GetAsync(99ul));

        var results = await hotels.SearchAsync(new ReadOnlyMemory<float>([1f, 0f, 0f, 0f]), top: 2).ToListAsync();
        Assert.Equal([1ul, 2ul], results.Select(r => r.Record.HotelId));
        Assert.True(results[0].Score > results[1].Score);

        var skipped = await hotels.SearchAsync(new ReadOnlyMemory<float>([1f, 0f, 0f, 0f]), top: 2, new() { Skip = 1 }).ToListAsync();
        Assert.Equal([2ul, 4ul], skipped.Select(r => r.Record.HotelId));

        var minRating = 4;
        var filtered = await hotels.SearchAsync(new ReadOnlyMemory<float>([1f, 0f, 0f, 0f]), top: 10, new() { Filter = h => h.Rating >= minRating && h.HotelName != "Seaside" }).ToListAsync();
        Assert.Equal([3ul], filtered.Select(r => r.Record.HotelId));

        var names = new[] { "Seaside", "Lakeside" };
        var withPool = await hotels.GetAsync(h => h.Tags.Contains("pool") && names.Contains(h.HotelName), top: 10).ToListAsync();
        Assert.Equal([1ul, 4ul], withPool.Select(h => h.HotelId).Order());
        var either = await hotels.GetAsync(h => h.Rating < 3 || h.HotelName == "Downtown", top: 10).ToListAsync();
        Assert.Equal([2ul, 4ul], either.Select(h => h.HotelId).Order());
        var not = await hotels.GetAsync(h => !(h.Rating > 2), top: 10).ToListAsync();
        Assert.Equal([4ul], not.Select(h => h.HotelId));

        var threshold = await hotels.SearchAsync(new ReadOnlyMemory<float>([1f, 0f, 0f, 0f]), top: 10, new() { ScoreThreshold = 0.95 }).ToListAsync();
        Assert.Equal([1ul, 2ul], threshold.Select(r => r.Record.HotelId));

        await hotels.DeleteAsync(2ul);
        Assert.Null(await hotels.GetAsync(2ul));
        Assert.Equal(3, await hotels.GetAsync([1ul, 2ul, 3ul, 4ul]).CountAsync());

        await hotels.EnsureCollectionDeletedAsync();
        Assert.False(await hotels.CollectionExistsAsync());
    }

    [Fact]
    public async Task HybridSearchFusesVectorAndKeywords()
    {
        await using var server = await TestServer.StartAsync();
        var hotels = Store(server).GetCollection<ulong, Hotel>("hybrid");
        await hotels.EnsureCollectionExistsAsync();
        await hotels.UpsertAsync(Hotels);
        var hybrid = (IKeywordHybridSearchable<Hotel>)hotels;

        // The vector points at Mountain (3); the keywords at the pools (1, 4). Fusion ranks what both lists agree on.
        var results = await hybrid.HybridSearchAsync(new ReadOnlyMemory<float>([0.7f, 0.7f, 0f, 0f]), ["pool"], top: 3).ToListAsync();
        Assert.Equal(4ul, results[0].Record.HotelId);
        Assert.Contains(results, r => r.Record.HotelId == 1);
        Assert.Equal("a lake, a pool and boats", results[0].Record.Description);

        var filtered = await hybrid.HybridSearchAsync(new ReadOnlyMemory<float>([0.7f, 0.7f, 0f, 0f]), ["pool"], top: 3, new() { Filter = h => h.Rating >= 4 }).ToListAsync();
        Assert.All(filtered, r => Assert.True(r.Record.Rating >= 4));
        Assert.Equal(1ul, filtered[0].Record.HotelId);
    }

    [Fact]
    public async Task GuidKeysAndDynamicCollections()
    {
        await using var server = await TestServer.StartAsync();
        var store = Store(server);
        var notes = store.GetCollection<Guid, Note>("notes");
        await notes.EnsureCollectionExistsAsync();
        var id = Guid.NewGuid();
        await notes.UpsertAsync(new Note { Id = id, Text = "hello", Vector = [1f, 2f, 3f] });
        var note = await notes.GetAsync(id, new RecordRetrievalOptions { IncludeVectors = true });
        Assert.Equal("hello", note!.Text);
        Assert.Equal([1f, 2f, 3f], note.Vector);
        var nearest = await notes.SearchAsync(new[] { 1f, 2f, 2.9f }, top: 1).SingleAsync();
        Assert.Equal(id, nearest.Record.Id);

        var definition = new VectorStoreCollectionDefinition
        {
            Properties =
            [
                new VectorStoreKeyProperty("Id", typeof(Guid)),
                new VectorStoreDataProperty("Text", typeof(string)),
                new VectorStoreVectorProperty("Vector", typeof(float[]), 3) { DistanceFunction = DistanceFunction.EuclideanDistance },
            ],
        };
        var dynamic = store.GetDynamicCollection("notes", definition);
        var record = await dynamic.GetAsync(id);
        Assert.Equal("hello", record!["Text"]);
        var other = Guid.NewGuid();
        await dynamic.UpsertAsync(new Dictionary<string, object?> { ["Id"] = other, ["Text"] = "dynamic", ["Vector"] = new[] { 9f, 9f, 9f } });
        var typed = await notes.GetAsync(other);
        Assert.Equal("dynamic", typed!.Text);
        var found = await dynamic.SearchAsync(new[] { 9f, 9f, 9f }, top: 1).SingleAsync();
        Assert.Equal(other, found.Record["Id"]);
    }

    [Fact]
    public async Task TheReadmeSampleRuns()
    {
        await using var server = await TestServer.StartAsync();
        Assert.Equal(["Seaside", "Lakeside"], await ReadmeSample.RunAsync(server.Url));
    }

    [Fact]
    public async Task ServerErrorsAreVectorStoreExceptions()
    {
        await using var server = await TestServer.StartAsync();
        var hotels = Store(server).GetCollection<ulong, Hotel>("missing");
        var error = await Assert.ThrowsAsync<VectorStoreException>(() => hotels.UpsertAsync(Hotels[0]));
        Assert.Contains("404", error.Message);
        Assert.Equal("missing", error.CollectionName);
    }
}

/// <summary>The README's VectorData sample, compiled and run by <see cref="VectorDataTests.TheReadmeSampleRuns"/> (keep them identical).</summary>
public static class ReadmeSample
{
    public static async Task<List<string>> RunAsync(string url)
    {
        // README sample: begin
        using var http = new HttpClient { BaseAddress = new Uri(url) }; // add an "api-key" header when auth is on
        var store = new VectorizerVectorStore(http);
        var hotels = store.GetCollection<ulong, Hotel>("hotels");
        await hotels.EnsureCollectionExistsAsync();
        await hotels.UpsertAsync([
            new Hotel { Id = 1, Name = "Seaside", Description = "rooms by the sea, a pool", Stars = 5, Vector = new[] { 1f, 0f, 0f } },
            new Hotel { Id = 2, Name = "Lakeside", Description = "a lake, a pool and boats", Stars = 4, Vector = new[] { 0.8f, 0.2f, 0f } },
            new Hotel { Id = 3, Name = "Alpine", Description = "cabins and a sauna", Stars = 4, Vector = new[] { 0f, 1f, 0f } },
        ]);

        var names = new List<string>();
        await foreach (var hit in hotels.SearchAsync(new ReadOnlyMemory<float>([1f, 0.1f, 0f]), top: 2, new() { Filter = h => h.Stars >= 4 }))
        {
            names.Add(hit.Record.Name); // Seaside, then Lakeside
        }

        var hybrid = (IKeywordHybridSearchable<Hotel>)hotels; // vector + BM25 keywords, fused
        await foreach (var hit in hybrid.HybridSearchAsync(new ReadOnlyMemory<float>([0f, 1f, 0f]), ["pool"], top: 2))
        {
            Console.WriteLine($"{hit.Record.Name} {hit.Score:F3}");
        }

        // README sample: end
        return names;
    }

    // README sample: record
    public sealed class Hotel
    {
        [VectorStoreKey] public ulong Id { get; set; }

        [VectorStoreData(IsIndexed = true)] public string Name { get; set; } = "";

        [VectorStoreData(IsFullTextIndexed = true)] public string Description { get; set; } = "";

        [VectorStoreData(IsIndexed = true)] public int Stars { get; set; }

        [VectorStoreVector(3, DistanceFunction = DistanceFunction.CosineSimilarity)] public ReadOnlyMemory<float>? Vector { get; set; }
    }
}
