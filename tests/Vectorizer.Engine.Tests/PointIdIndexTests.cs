using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Points;

namespace Vectorizer.Engine.Tests;

public class PointIdIndexTests
{
    [Fact]
    public void OrderStaysCorrectThroughSnapshotsDeltasAndRebuilds()
    {
        var index = new PointIdIndex();
        var expected = new SortedSet<PointId>();
        var random = new Random(9);
        var offset = 0;
        PointId RandomId() => random.Next(4) == 0
            ? PointId.FromUuidParts((ulong)random.NextInt64(), (ulong)random.NextInt64())
            : PointId.FromNumber((ulong)random.Next(100_000));

        for (var round = 0; round < 6; round++)
        {
            // Alternate small changes (kept as deltas) and large ones (the snapshot is rebuilt).
            var changes = round % 2 == 0 ? 500 : 5000;
            for (var i = 0; i < changes; i++)
            {
                var id = RandomId();
                if (random.Next(3) == 0 && expected.Count > 0)
                {
                    var victim = expected.ElementAt(random.Next(expected.Count));
                    Assert.True(index.Remove(victim, out _));
                    expected.Remove(victim);
                }
                else
                {
                    var previous = index.Set(id, offset++);
                    Assert.Equal(expected.Add(id), previous < 0);
                }
            }

            Assert.Equal(expected.Count, index.Count);
            Assert.Equal(expected.ToList(), index.Ordered().ToList());
            var start = expected.ElementAt(expected.Count / 2);
            Assert.Equal(expected.GetViewBetween(start, expected.Max).Take(50).ToList(), index.Ordered(start).Take(50).ToList());
            Assert.True(index.TryGetOffset(start, out _));
        }
    }

    [Fact]
    public void NumericIdMapMatchesADictionaryUnderChurn()
    {
        var map = new NumericIdMap();
        // The keys below make ulong's own hash collapse ((x << 32 | x) hashes to 0), which would turn the reference
        // model quadratic; the model gets a well-mixed hash so only the map under test sees hard keys.
        var reference = new Dictionary<ulong, int>(MixedHash.Instance);
        var random = new Random(4);
        for (var i = 0; i < 200_000; i++)
        {
            // Small key range: long probe runs, many removals and re-insertions.
            var key = (ulong)random.Next(20_000) * (random.Next(2) == 0 ? 1UL : 0x1_0000_0001UL);
            if (random.Next(3) == 0)
            {
                Assert.Equal(reference.Remove(key, out var expected), map.Remove(key, out var actual));
                Assert.Equal(expected, actual);
            }
            else
            {
                var isNew = !reference.ContainsKey(key);
                reference[key] = i;
                Assert.Equal(isNew, map.Set(key, i, out _));
            }
        }

        Assert.Equal(reference.Count, map.Count);
        foreach (var (key, value) in reference)
        {
            Assert.True(map.TryGetValue(key, out var found));
            Assert.Equal(value, found);
        }

        Assert.Equal(reference.Keys.Order(), map.Keys.Order());
        Assert.False(map.TryGetValue(ulong.MaxValue, out _));
    }
}

/// <summary>SplitMix64's finalizer as a hash: every input bit affects every output bit.</summary>
internal sealed class MixedHash : IEqualityComparer<ulong>
{
    public static readonly MixedHash Instance = new();

    public bool Equals(ulong x, ulong y) => x == y;

    public int GetHashCode(ulong key)
    {
        key = (key ^ (key >> 30)) * 0xBF58476D1CE4E5B9UL;
        key = (key ^ (key >> 27)) * 0x94D049BB133111EBUL;
        return (int)(key ^ (key >> 31));
    }
}
