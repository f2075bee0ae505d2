using Vectorizer.Engine.Errors;

namespace Vectorizer.Engine.Collections.Queries;

/// <summary>Fusion of a query's prefetched lists (<c>query: {"fusion": "rrf" | "dbsf"}</c>, <c>{"rrf": {...}}</c>).</summary>
internal static class Fusion
{
    /// <summary>
    /// RRF: a point at 0-based position p of a list with weight w scores 1 / ((p + 1) / w + k − 1), summed over
    /// the lists (Qdrant's formula; k = 2 by default). DBSF: see <see cref="DistributionNormalized"/>; the normalised
    /// scores are summed. Ties go to the lower offset so the order is deterministic.
    /// </summary>
    public static List<(int Offset, float Score)> Fuse(
        IReadOnlyList<IReadOnlyList<(int Offset, float Score)>> lists, IReadOnlyList<bool> higherIsBetter, FusionQuery fusion, int limit)
    {
        if (fusion.Weights is { } weights && weights.Count != lists.Count)
        {
            throw VectorizerException.BadRequest($"Number of weights in RRF should match number of pre-fetches: got {weights.Count}, expected {lists.Count}");
        }

        if (fusion.K < 1)
        {
            throw VectorizerException.Validation($"rrf.k: value {fusion.K} invalid, must be 1 or larger");
        }

        var totals = new Dictionary<int, float>();
        for (var l = 0; l < lists.Count; l++)
        {
            var list = lists[l];
            if (fusion.Method == FusionMethod.Rrf)
            {
                var weight = fusion.Weights?[l] ?? 1f;
                for (var position = 0; position < list.Count; position++)
                {
                    var contribution = weight <= 0 ? 0f : 1f / (((position + 1) / weight) + fusion.K - 1);
                    totals[list[position].Offset] = totals.GetValueOrDefault(list[position].Offset) + contribution;
                }

                continue;
            }

            foreach (var (offset, normalized) in DistributionNormalized(list, higherIsBetter[l]))
            {
                totals[offset] = totals.GetValueOrDefault(offset) + normalized;
            }
        }

        var fused = new List<(int Offset, float Score)>(totals.Count);
        foreach (var (offset, score) in totals)
        {
            fused.Add((offset, score));
        }

        fused.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Offset.CompareTo(b.Offset));
        if (fused.Count > limit)
        {
            fused.RemoveRange(limit, fused.Count - limit);
        }

        return fused;
    }

    /// <summary>
    /// Qdrant's distribution-based normalisation of one list: scores mapped linearly from [mean − 3σ, mean + 3σ] to
    /// [0, 1], with the sample standard deviation (n − 1) and no clamping, so an outlier may land outside [0, 1]; a
    /// single point, or a list of equal scores, gets 0.5. Distances (Euclid, Manhattan: lower is better) are mirrored
    /// so that the nearest point gets the highest value: Qdrant sums them as they are, which would rank the farthest
    /// points first.
    /// </summary>
    public static IEnumerable<(int Offset, float Normalized)> DistributionNormalized(IReadOnlyList<(int Offset, float Score)> list, bool higherIsBetter)
    {
        if (list.Count == 0)
        {
            yield break;
        }

        double sum = 0;
        foreach (var (_, score) in list)
        {
            sum += score;
        }

        var mean = sum / list.Count;
        double squares = 0;
        foreach (var (_, score) in list)
        {
            squares += (score - mean) * (score - mean);
        }

        var std = list.Count < 2 ? 0 : Math.Sqrt(squares / (list.Count - 1));
        foreach (var (offset, score) in list)
        {
            var normalized = std == 0 ? 0.5 : (score - (mean - (3 * std))) / (6 * std);
            yield return (offset, (float)(higherIsBetter ? normalized : 1 - normalized));
        }
    }
}
