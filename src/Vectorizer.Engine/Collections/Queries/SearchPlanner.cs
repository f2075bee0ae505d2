namespace Vectorizer.Engine.Collections.Queries;

/// <summary>How a filtered dense search whose matching points are known (as a bitmap) is answered.</summary>
internal enum FilteredPlan
{
    /// <summary>Score every matching point (exact; the payload index's candidates or a remembered filter's matches).</summary>
    Exact,

    /// <summary>HNSW, scoring every node met and keeping the accepted ones (hnswlib's filtered search).</summary>
    Graph,

    /// <summary>HNSW over the accepted nodes only, crossing rejected neighbours by their links (ACORN-1).</summary>
    GraphTwoHop,
}

/// <summary>
/// The cost model behind the choice between an exact scan of a filter's matches and a graph walk, for a filter
/// whose matches are known (payload-index candidates, or a remembered filter). Qdrant's rule comes first: below
/// <c>full_scan_threshold</c> kilobytes of matching vectors the exact scan is taken, whatever the model says, so the
/// setting keeps its documented meaning. Above it, each plan is priced by the bytes it reads, which is what a search
/// over vectors waits on:
/// <list type="bullet">
/// <item>exact: every match's vector;</item>
/// <item>graph: an unfiltered walk scores about ef·M0/2 nodes (measured: a third to a half of each expanded node's
/// 2·M links are new), and a filtered one about 1 ÷ selectivity times more to fill ef accepted results;</item>
/// <item>two-hop graph: the unfiltered walk's scores, plus the link lists of the rejected neighbours it crosses
/// (about 2·ef expansions, each crossing M0·(1 − selectivity) lists of (M0 + 1) ints).</item>
/// </list>
/// The two-hop walk needs the filter to be a cheap check (a bitmap) and enough accepted nodes two hops away to stay
/// connected: it is not used below a selectivity of 1 ÷ M0, where about M0 of the M0² two-hop neighbours pass.
/// </summary>
internal static class SearchPlanner
{
    public static FilteredPlan Choose(long matches, long searchable, int vectorBytes, int m0, int ef, int fullScanThresholdKb)
    {
        if (matches * (double)vectorBytes / 1024.0 < fullScanThresholdKb || searchable <= 0)
        {
            return FilteredPlan.Exact;
        }

        var selectivity = Math.Clamp((double)matches / searchable, 1e-9, 1.0);
        var exact = matches * (double)vectorBytes;
        var unfilteredScores = ef * (m0 / 2.0);
        var graph = Math.Min(unfilteredScores / selectivity, searchable) * vectorBytes;
        var twoHop = double.PositiveInfinity;
        if (selectivity >= 1.0 / m0)
        {
            var linkBytes = 2.0 * ef * m0 * (1 - selectivity) * (m0 + 1) * sizeof(int);
            twoHop = (unfilteredScores * vectorBytes) + linkBytes;
        }

        if (exact <= graph && exact <= twoHop)
        {
            return FilteredPlan.Exact;
        }

        return twoHop < graph ? FilteredPlan.GraphTwoHop : FilteredPlan.Graph;
    }
}
