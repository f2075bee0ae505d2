using System.Text.Json;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Payload;

namespace Vectorizer.Engine.Collections.Queries;

/// <summary>One entry of an ordered read: the value that put the point there, and its offset.</summary>
internal readonly record struct OrderedEntry(double Value, int Offset);

/// <summary>
/// Points in the order of a payload value (scroll's and query's <c>order_by</c>), read from the field's range
/// index: over the filter's points, or over given offsets (the prefetched points of a query). Caller holds the
/// collection's read lock.
/// </summary>
internal static class OrderByReader
{
    /// <summary>
    /// The first <paramref name="limit"/> entries in <paramref name="orderBy"/>'s order among live points that pass
    /// <paramref name="filter"/> (and lie in <paramref name="within"/>, sorted distinct offsets, when given).
    /// <paramref name="distinct"/>: each point once, at its first value in that order (query); otherwise once per
    /// distinct value, as Qdrant's scroll does. Walks the range index from <c>start_from</c>, or, when the filter's
    /// index candidates are few, sorts just those; both give the same entries.
    /// </summary>
    public static List<OrderedEntry> Read(CollectionState current, OrderBy orderBy, Filter? filter, int[]? within, int limit, bool distinct)
    {
        var index = RangeIndexFor(current, orderBy);
        var entries = index.SortedEntries(out var count);
        var candidates = within ?? current.IndexedCandidates(filter);

        // Sorting c candidates costs about c; walking the index until `limit` of them turn up costs about limit * n / c.
        var result = candidates is not null && (within is not null || (long)candidates.Length * candidates.Length <= 4L * limit * Math.Max(count, 1))
            ? OrderCandidates(current, index, orderBy, filter, candidates, distinct)
            : WalkIndex(current, index, orderBy, filter, entries, count, limit, distinct);

        result.Sort((a, b) =>
        {
            var c = a.Value.CompareTo(b.Value);
            if (c == 0)
            {
                c = current.IdOf(a.Offset).CompareTo(current.IdOf(b.Offset));
            }

            return orderBy.Descending ? -c : c;
        });

        if (result.Count > limit)
        {
            result.RemoveRange(limit, result.Count - limit);
        }

        return result;
    }

    private static PayloadFieldIndex RangeIndexFor(CollectionState current, OrderBy orderBy) =>
        current.PayloadIndexes.TryGetValue(orderBy.Key.Text, out var index) && index.SupportsRange
            ? index
            : throw VectorizerException.BadRequest(
                $"No range index for `order_by` key: `{orderBy.Key.Text}`. Please create one to use `order_by`. " +
                "Check https://qdrant.tech/documentation/concepts/indexing/#payload-index to see which payload schemas support Range conditions");

    private static bool InStartRange(OrderBy orderBy, double value) =>
        orderBy.StartFrom is not { } start || (orderBy.Descending ? value <= start : value >= start);

    /// <summary>Entries in index order from <c>start_from</c>, until <paramref name="limit"/> are found and their last tie group is complete.</summary>
    private static List<OrderedEntry> WalkIndex(
        CollectionState current, PayloadFieldIndex index, OrderBy orderBy, Filter? filter, (double Value, int Offset)[] entries, int count, int limit, bool distinct)
    {
        var result = new List<OrderedEntry>(Math.Min(limit, 1024));
        var seen = distinct ? new HashSet<int>() : null;
        var scratch = new List<JsonElement>();
        var numbers = new List<double>();
        int i, step;
        if (orderBy.Descending)
        {
            i = (orderBy.StartFrom is { } start ? PayloadFieldIndex.LowerBound(entries, count, start, inclusive: false) : count) - 1;
            step = -1;
        }
        else
        {
            i = orderBy.StartFrom is { } start ? PayloadFieldIndex.LowerBound(entries, count, start, inclusive: true) : 0;
            step = 1;
        }

        var previous = (Value: double.NaN, Offset: -1);
        for (; (uint)i < (uint)count; i += step)
        {
            var entry = entries[i];
            if (result.Count >= limit && entry.Value != result[^1].Value)
            {
                break;
            }

            // Identical entries (a value repeated in one payload, or re-indexed unchanged) count once.
            if (entry == previous)
            {
                continue;
            }

            previous = entry;
            var offset = entry.Offset;
            if (!current.IsLive(offset) || (seen is not null && seen.Contains(offset)))
            {
                continue;
            }

            if (index.Rewritten.Get(offset))
            {
                // The payload changed since this entry was written: keep it only if the value is still there.
                numbers.Clear();
                index.CollectNumbers(current.PayloadOf(offset), scratch, numbers);
                if (!numbers.Contains(entry.Value))
                {
                    continue;
                }
            }

            if (filter is not null && !FilterEvaluator.Matches(filter, current, offset))
            {
                continue;
            }

            seen?.Add(offset);
            result.Add(new OrderedEntry(entry.Value, offset));
        }

        return result;
    }

    /// <summary>Every entry of the given offsets (unsorted); with <paramref name="distinct"/>, each point's first value in order.</summary>
    private static List<OrderedEntry> OrderCandidates(CollectionState current, PayloadFieldIndex index, OrderBy orderBy, Filter? filter, int[] candidates, bool distinct)
    {
        var result = new List<OrderedEntry>(candidates.Length);
        var scratch = new List<JsonElement>();
        var numbers = new List<double>();
        foreach (var offset in candidates)
        {
            if (!current.IsLive(offset) || (filter is not null && !FilterEvaluator.Matches(filter, current, offset)))
            {
                continue;
            }

            numbers.Clear();
            index.CollectNumbers(current.PayloadOf(offset), scratch, numbers);
            var best = double.NaN;
            foreach (var number in numbers)
            {
                if (!InStartRange(orderBy, number))
                {
                    continue;
                }

                if (!distinct)
                {
                    result.Add(new OrderedEntry(number, offset));
                }
                else if (double.IsNaN(best) || (orderBy.Descending ? number > best : number < best))
                {
                    best = number;
                }
            }

            if (distinct && !double.IsNaN(best))
            {
                result.Add(new OrderedEntry(best, offset));
            }
        }

        return result;
    }
}
