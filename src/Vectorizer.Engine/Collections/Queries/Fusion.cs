using Vectorizer.Engine.Errors;

namespace Vectorizer.Engine.Collections.Queries;

/// <summary>Fusion of a query's prefetched lists (<c>query: {"fusion": "rrf" | "dbsf"}</c>, <c>{"rrf": {...}}</c>).</summary>
internal static class Fusion
{
    /// <summary>
    /// RRF: a point at 0-based position p of a list with weight w scores 1 / ((p + 1) / w + k − 1), summed over
    /// the lists (Qdrant's formula; k = 2 by default). DBSF: each list's scores are mapped from
    /// [mean − 3σ, mean + 3σ] to [0, 1] (clamped; reversed when lower is better), then summed.
    /// Ties go to the lower offset so the order is deterministic.
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

            if (list.Count == 0)
            {
                continue;
            }

            double sum = 0, squares = 0;
            foreach (var (_, score) in list)
            {
                sum += score;
                squares += (double)score * score;
            }

            var mean = sum / list.Count;
            var std = Math.Sqrt(Math.Max(0, (squares / list.Count) - (mean * mean)));
            foreach (var (offset, score) in list)
            {
                var normalized = std == 0 ? 0.5 : Math.Clamp((score - (mean - (3 * std))) / (6 * std), 0, 1);
                if (!higherIsBetter[l])
                {
                    normalized = 1 - normalized;
                }

                totals[offset] = totals.GetValueOrDefault(offset) + (float)normalized;
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
}
