using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;

namespace Vectorizer.Engine.Tests;

/// <summary>Sparse vectors: exact search against a brute-force reference, and recovery from the WAL and from checkpoints.</summary>
public class SparseTests
{
    private static CollectionConfig Config() => TestData.Config(4) with
    {
        SparseVectors = new Dictionary<string, SparseVectorParams> { ["bm25"] = new() { Modifier = SparseVectorModifier.Idf } },
    };

    private static SparseVector RandomSparse(Random random, int dimensions, int vocabulary)
    {
        var indices = new HashSet<uint>();
        while (indices.Count < dimensions)
        {
            indices.Add((uint)random.Next(vocabulary));
        }

        return SparseVector.Create([.. indices], [.. indices.Select(_ => (float)random.NextDouble())]);
    }

    private static async Task<Collection> Populate(CollectionManager manager, int count)
    {
        var collection = manager.Create("c", Config());
        var random = new Random(5);
        for (var start = 0; start < count; start += 100)
        {
            var points = Enumerable.Range(start, 100).Select(i => new PointStruct(
                PointId.FromNumber((ulong)i),
                VectorMap.Single("", TestData.RandomVector(random, 4)),
                null,
                new Dictionary<string, SparseVector> { ["bm25"] = RandomSparse(random, 1 + random.Next(8), 50) })).ToList();
            await collection.UpdateAsync(new UpsertOperation(points), wait: true);
        }

        await collection.UpdateAsync(new DeletePointsOperation(PointSelector.ForIds([PointId.FromNumber(7), PointId.FromNumber(8)])), wait: true);
        await collection.UpdateAsync(new DeleteVectorsOperation(PointSelector.ForIds([PointId.FromNumber(9)]), ["bm25"]), wait: true);
        return collection;
    }

    private static string Answers(Collection collection, SparseVector query) =>
        string.Join(' ', collection.Query(new QueryRequest { Query = new SparseVectorQuery(query), Using = "bm25", Limit = 20 })
            .Select(p => $"{p.Id}:{p.Score:F5}"));

    [Fact]
    public async Task SearchMatchesBruteForceWithIdf()
    {
        using var dir = new TempDirectory();
        using var manager = TestData.Open(dir.Path);
        var collection = await Populate(manager, 1000);
        var query = RandomSparse(new Random(9), 6, 50);

        // Reference: IDF over the live documents, computed from scratch.
        var documents = collection.Scroll(new ScrollRequest { Limit = 10_000, WithVector = VectorSelector.All }).Points
            .Where(p => p.Sparse?.ContainsKey("bm25") == true).ToList();
        Assert.Equal(997, documents.Count);
        double Idf(uint index)
        {
            var n = documents.Count(d => d.Sparse!["bm25"].Indices.Contains(index));
            return Math.Log(1 + ((documents.Count - n + 0.5) / (n + 0.5)));
        }

        var expected = documents
            .Select(d => (d.Id, Score: (float)query.Indices.Select((index, i) =>
            {
                var at = Array.IndexOf(d.Sparse!["bm25"].Indices, index);
                return at < 0 ? 0 : query.Values[i] * d.Sparse["bm25"].Values[at] * Idf(index);
            }).Sum()))
            .Where(x => x.Score > 0)
            .OrderByDescending(x => x.Score).ThenBy(x => x.Id.Number)
            .Take(20)
            .ToList();
        var actual = collection.Query(new QueryRequest { Query = new SparseVectorQuery(query), Using = "bm25", Limit = 20 });
        Assert.Equal(expected.Select(e => e.Id), actual.Select(a => a.Id));
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Score, actual[i].Score, 3);
        }
    }

    [Fact]
    public async Task WalReplayAndCheckpointRestoreSparseVectors()
    {
        using var dir = new TempDirectory();
        var query = RandomSparse(new Random(3), 5, 50);
        string before;
        var manager = TestData.Open(dir.Path);
        var collection = await Populate(manager, 500);
        before = Answers(collection, query);
        Assert.NotEmpty(before);
        collection.Close(checkpoint: false); // a crash: only the WAL survives
        using (var reopened = TestData.Open(dir.Path))
        {
            Assert.Equal(before, Answers(reopened.Get("c"), query));
            reopened.Get("c").Checkpoint();
        }

        using var fromCheckpoint = TestData.Open(dir.Path);
        Assert.Equal(before, Answers(fromCheckpoint.Get("c"), query));
    }

    [Fact]
    public async Task PointByPointScoringEqualsThePostingsWalkExactly()
    {
        using var dir = new TempDirectory();
        using var manager = TestData.Open(dir.Path);
        var collection = await Populate(manager, 600);
        var state = collection.State;
        var slot = state.SparseSlot("bm25")!;
        var random = new Random(11);
        for (var q = 0; q < 20; q++)
        {
            var query = RandomSparse(random, 1 + random.Next(6), 50);
            var modulus = 2 + q % 5;
            bool Accept(int offset) => state.IsLive(offset) && state.IdOf(offset).Number % (ulong)modulus == 0;
            var walked = slot.Search(query, Accept, 15);
            Assert.NotEmpty(walked);
            Assert.Equal(walked, slot.SearchPoints(query, Accept, 15, null, state.Count));
            var subset = Enumerable.Range(0, state.Count).Where(o => o % 3 != 0).ToArray();
            Assert.Equal(slot.Search(query, o => Accept(o) && o % 3 != 0, 15), slot.SearchPoints(query, Accept, 15, subset, state.Count));
        }
    }
}
