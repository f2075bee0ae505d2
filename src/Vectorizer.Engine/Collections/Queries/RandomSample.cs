using Vectorizer.Engine.Filters;

namespace Vectorizer.Engine.Collections.Queries;

/// <summary>Random samples of a collection's points (query <c>sample: random</c>). Caller holds the collection's read lock.</summary>
internal static class RandomSample
{
    /// <summary>Draws per requested point before a random sample falls back to listing every matching point.</summary>
    private const int SampleDrawsPerPoint = 8;

    /// <summary>
    /// Up to <paramref name="limit"/> distinct live points passing <paramref name="filter"/> (among
    /// <paramref name="within"/> when given), drawn uniformly at random, in random order. Without index candidates it
    /// draws random offsets first (cheap when many points match) and lists every matching point only when that
    /// does not find enough.
    /// </summary>
    public static List<int> Offsets(CollectionState current, Filter? filter, int[]? within, int limit, Random random)
    {
        var candidates = within ?? current.IndexedCandidates(filter);
        List<int> pool;
        if (candidates is null)
        {
            var count = current.Count;
            var picked = new List<int>(Math.Min(limit, count));
            var drawn = new HashSet<int>();
            var budget = ((long)limit * SampleDrawsPerPoint) + 64;
            for (long draw = 0; draw < budget && picked.Count < limit && drawn.Count < count; draw++)
            {
                var offset = random.Next(count);
                if (drawn.Add(offset) && current.IsLive(offset) && (filter is null || FilterEvaluator.Matches(filter, current, offset)))
                {
                    picked.Add(offset);
                }
            }

            if (picked.Count == limit)
            {
                return picked;
            }

            // Too few matches among the draws: list them all (a fresh, equally uniform sample).
            pool = [];
            for (var offset = 0; offset < count; offset++)
            {
                if (current.IsLive(offset) && (filter is null || FilterEvaluator.Matches(filter, current, offset)))
                {
                    pool.Add(offset);
                }
            }
        }
        else
        {
            pool = new List<int>(candidates.Length);
            foreach (var offset in candidates)
            {
                if (current.IsLive(offset) && (filter is null || FilterEvaluator.Matches(filter, current, offset)))
                {
                    pool.Add(offset);
                }
            }
        }

        // Partial Fisher-Yates: the first `take` slots become a uniform sample without replacement.
        var take = Math.Min(limit, pool.Count);
        for (var i = 0; i < take; i++)
        {
            var j = random.Next(i, pool.Count);
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }

        pool.RemoveRange(take, pool.Count - take);
        return pool;
    }
}
