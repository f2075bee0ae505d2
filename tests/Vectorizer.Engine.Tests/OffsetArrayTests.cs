using Vectorizer.Engine.Collections;

namespace Vectorizer.Engine.Tests;

/// <summary>The chunked per-offset arrays behind ids, versions and payloads (<see cref="OffsetArray{T}"/>).</summary>
public sealed class OffsetArrayTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GrowingKeepsEveryValueAndFillsNewOffsets(bool lazy)
    {
        var array = new OffsetArray<long>(-1, lazy);
        var written = new Dictionary<int, long>();
        var random = new Random(7);
        foreach (var size in (int[])[1, 700, 1025, 5000, 8192, 8193, 20000, 70001])
        {
            array.EnsureCapacity(size);
            Assert.True(array.Capacity >= size);
            for (var i = 0; i < 50; i++)
            {
                var offset = random.Next(size);
                var value = random.NextInt64(0, 1000);
                array.Set(offset, value);
                written[offset] = value;
            }

            for (var offset = 0; offset < size; offset++)
            {
                Assert.Equal(written.TryGetValue(offset, out var expected) ? expected : -1, array.Get(offset));
            }

            var copy = array.ToArray(size);
            Assert.Equal(size, copy.Length);
            Assert.All(Enumerable.Range(0, size), offset => Assert.Equal(array.Get(offset), copy[offset]));
        }
    }

    [Fact]
    public void ALazyArrayAllocatesNothingUntilAValueIsWritten()
    {
        var array = new OffsetArray<string?>(null, lazy: true);
        array.EnsureCapacity(100_000);
        var before = GC.GetAllocatedBytesForCurrentThread();
        array.Set(50_000, null);
        Assert.Null(array.Get(99_999));
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        array.Set(99_999, "x");
        Assert.Equal("x", array.Get(99_999));
        Assert.Null(array.Get(99_998));
        Assert.Null(array.Get(0));
    }

    [Fact]
    public void ByReferenceWritesLandInTheChunk()
    {
        var array = new OffsetArray<ulong>();
        array.EnsureCapacity(3);
        array[2] = 42;
        array.EnsureCapacity(9000);
        array[8999] = 7;
        Assert.Equal(42UL, array[2]);
        Assert.Equal(7UL, array.Get(8999));
        Assert.Equal(0UL, array[8998]);
    }
}
