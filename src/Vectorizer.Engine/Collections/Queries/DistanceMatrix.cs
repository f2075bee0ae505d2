using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Engine.Collections.Queries;

/// <summary>
/// The distance matrix of a random sample (<see cref="SearchMatrixRequest"/>): a uniform sample of the live points that
/// pass the filter and have the vector, then for each sampled point its nearest neighbours among the other sampled
/// points, scored exactly (Qdrant's scores: similarity for Cosine, Dot and sparse vectors, distance for Euclid and
/// Manhattan). Caller holds the collection's read lock.
/// </summary>
internal static class DistanceMatrix
{
    public static SearchMatrix Compute(CollectionState current, SearchMatrixRequest request, Random random)
    {
        if (request.Sample < 2)
        {
            throw VectorizerException.Validation($"sample: value {request.Sample} invalid, must be 2 or larger");
        }

        if (request.Limit < 1)
        {
            throw VectorizerException.Validation($"limit: value {request.Limit} invalid, must be 1 or larger");
        }

        var sparse = current.SparseSlot(request.Using);
        var dense = sparse is null ? WritePath.SlotOrThrow(current, request.Using) : null;
        var hasVector = new FilterCondition(new Filter { Must = [new HasVectorCondition(request.Using)] });
        var filter = request.Filter is { IsEmpty: false } given ? new Filter { Must = [new FilterCondition(given), hasVector] } : hasVector.Filter;
        var sample = RandomSample.Offsets(current, filter, null, request.Sample, random);
        var ids = sample.ConvertAll(current.IdOf);
        var higherIsBetter = dense?.Distance.HigherIsBetter() ?? true;
        var sparseWeights = sparse is null ? null : sample.ConvertAll(o => sparse.QueryWeights(sparse.Get(o)!));
        var entries = new List<MatrixEntry>(sample.Count * Math.Min(request.Limit, Math.Max(0, sample.Count - 1)));
        var row = new List<(int Column, float Score)>(sample.Count);
        for (var i = 0; i < sample.Count; i++)
        {
            row.Clear();
            for (var j = 0; j < sample.Count; j++)
            {
                if (i == j)
                {
                    continue;
                }

                var score = dense is not null
                    ? dense.Distance.ToScore(MetricDispatch.Distance(dense.Distance, dense.Store.Get(sample[i]), dense.Store.Get(sample[j])))
                    : sparse!.Score(sparse.Get(sample[i])!, sparseWeights![i], sample[j]);
                row.Add((j, score));
            }

            row.Sort((a, b) => a.Score != b.Score
                ? (higherIsBetter ? b.Score.CompareTo(a.Score) : a.Score.CompareTo(b.Score))
                : a.Column.CompareTo(b.Column));
            for (var n = 0; n < row.Count && n < request.Limit; n++)
            {
                entries.Add(new MatrixEntry(i, row[n].Column, row[n].Score));
            }
        }

        return new SearchMatrix(ids, entries);
    }
}
