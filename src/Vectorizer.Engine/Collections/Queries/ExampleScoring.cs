using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Index;
using Vectorizer.Engine.Sparse;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Engine.Collections.Queries;

/// <summary>
/// The queries that rank by examples rather than by one vector: <see cref="RecommendQuery"/>, <see cref="DiscoverQuery"/>
/// and <see cref="ContextQuery"/>, over one dense or sparse vector of a <see cref="CollectionState"/>. Examples are
/// resolved once (given vectors preprocessed for the metric, stored points read from the slot and excluded from the
/// results); then either one averaged query vector is built (<see cref="RecommendStrategy.AverageVector"/>, searched as
/// a plain nearest-neighbour query) or every candidate is scored against all examples (<see cref="Score"/>). The
/// similarity to an example is Qdrant's raw one: the dot product for Cosine and Dot, minus the squared distance for
/// Euclid, minus the distance for Manhattan, the IDF-weighted dot product for sparse vectors; the scores follow
/// Qdrant's formulas (see the query types), and are higher-is-better whatever the metric.
/// </summary>
internal sealed class ExampleScoring
{
    /// <summary>Rust's <c>f32::EPSILON</c> (C#'s <c>float.Epsilon</c> is the smallest subnormal instead): the margin of a context pair.</summary>
    private const float MachineEpsilon = 1.1920929E-07f;

    private readonly VectorSlot? dense;
    private readonly SparseSlot? sparse;
    private readonly float[][] denseExamples;
    private readonly SparseVector[] sparseExamples;
    private readonly float[][] sparseWeights;
    private readonly QueryInput query;
    private readonly int positives;

    private ExampleScoring(VectorSlot? dense, SparseSlot? sparse, List<object> examples, QueryInput query, int positives, int[] excluded)
    {
        this.dense = dense;
        this.sparse = sparse;
        this.query = query;
        this.positives = positives;
        Excluded = excluded;
        if (dense is not null)
        {
            denseExamples = [.. examples.Cast<float[]>()];
            sparseExamples = [];
            sparseWeights = [];
        }
        else
        {
            denseExamples = [];
            sparseExamples = [.. examples.Cast<SparseVector>()];
            sparseWeights = [.. sparseExamples.Select(e => sparse!.QueryWeights(e))];
        }
    }

    /// <summary>Offsets of the stored-point examples: never part of the results.</summary>
    public int[] Excluded { get; }

    /// <summary>True for the queries whose candidates are scored against every example (all but the average vector).</summary>
    public static bool IsScoredByExamples(QueryInput? input) =>
        input is RecommendQuery { Strategy: not RecommendStrategy.AverageVector } or DiscoverQuery or ContextQuery;

    /// <summary>Resolves the examples of a <see cref="IsScoredByExamples"/> query against the vector <paramref name="vectorName"/>.</summary>
    public static ExampleScoring Create(CollectionState current, string vectorName, QueryInput input)
    {
        var (dense, sparse) = Slots(current, vectorName);
        var examples = new List<object>();
        var excluded = new List<int>();
        var positives = 0;
        switch (input)
        {
            case RecommendQuery recommend:
                if (recommend.Positive.Count + recommend.Negative.Count == 0)
                {
                    throw VectorizerException.BadRequest("At least one positive or negative example is required");
                }

                foreach (var example in recommend.Positive)
                {
                    examples.Add(Resolve(current, dense, sparse, vectorName, example, excluded, preprocess: true));
                }

                positives = examples.Count;
                foreach (var example in recommend.Negative)
                {
                    examples.Add(Resolve(current, dense, sparse, vectorName, example, excluded, preprocess: true));
                }

                break;
            case DiscoverQuery discover:
                examples.Add(Resolve(current, dense, sparse, vectorName, discover.Target, excluded, preprocess: true));
                AddPairs(current, dense, sparse, vectorName, discover.Context, examples, excluded);
                break;
            case ContextQuery context:
                if (context.Pairs.Count == 0)
                {
                    throw VectorizerException.BadRequest("A context query needs at least one pair of examples");
                }

                AddPairs(current, dense, sparse, vectorName, context.Pairs, examples, excluded);
                break;
            default:
                throw new VectorizerException(ErrorCode.Internal, $"{input.GetType().Name} is not scored by examples");
        }

        return new ExampleScoring(dense, sparse, examples, input, positives, [.. excluded]);
    }

    /// <summary>
    /// The <see cref="RecommendStrategy.AverageVector"/> query: <c>avg(positive)</c>, or <c>2·avg(positive) − avg(negative)</c>
    /// with negatives, as a plain vector query, and the stored examples to exclude. Given vectors are averaged as sent
    /// (the search preprocesses the result), stored ones as stored, as Qdrant does.
    /// </summary>
    public static (QueryInput Query, int[] Excluded) AverageVector(CollectionState current, string vectorName, RecommendQuery recommend)
    {
        if (recommend.Positive.Count == 0)
        {
            throw VectorizerException.BadRequest("Positive vectors should not be empty with `average` strategy");
        }

        var (dense, sparse) = Slots(current, vectorName);
        var excluded = new List<int>();
        var positive = recommend.Positive.Select(e => Resolve(current, dense, sparse, vectorName, e, excluded, preprocess: false)).ToList();
        var negative = recommend.Negative.Select(e => Resolve(current, dense, sparse, vectorName, e, excluded, preprocess: false)).ToList();
        if (dense is not null)
        {
            var average = Average(positive.Cast<float[]>(), dense.Dimension);
            if (negative.Count > 0)
            {
                var averageNegative = Average(negative.Cast<float[]>(), dense.Dimension);
                for (var i = 0; i < average.Length; i++)
                {
                    average[i] = average[i] + average[i] - averageNegative[i];
                }
            }

            return (new DenseVectorQuery(average), [.. excluded]);
        }

        var sparseAverage = Average(positive.Cast<SparseVector>());
        if (negative.Count > 0)
        {
            var averageNegative = Average(negative.Cast<SparseVector>());
            sparseAverage = Combine(sparseAverage, 2f, averageNegative, -1f);
        }

        return (new SparseVectorQuery(sparseAverage), [.. excluded]);
    }

    /// <summary>The query's score for the point at <paramref name="offset"/> (which has the vector).</summary>
    public float Score(int offset)
    {
        switch (query)
        {
            case RecommendQuery { Strategy: RecommendStrategy.BestScore }:
                var bestPositive = float.NegativeInfinity;
                var bestNegative = float.NegativeInfinity;
                for (var i = 0; i < Count; i++)
                {
                    var similarity = Similarity(i, offset);
                    if (i < positives)
                    {
                        bestPositive = Math.Max(bestPositive, similarity);
                    }
                    else
                    {
                        bestNegative = Math.Max(bestNegative, similarity);
                    }
                }

                return bestPositive > bestNegative ? ScaledFastSigmoid(bestPositive) : -ScaledFastSigmoid(bestNegative);
            case RecommendQuery:
                var sum = 0f;
                for (var i = 0; i < Count; i++)
                {
                    sum += i < positives ? Similarity(i, offset) : -Similarity(i, offset);
                }

                return sum;
            case DiscoverQuery:
                var rank = 0;
                for (var i = 1; i + 1 < Count; i += 2)
                {
                    rank += Math.Sign(Similarity(i, offset).CompareTo(Similarity(i + 1, offset)));
                }

                return rank + ScaledFastSigmoid(Similarity(0, offset));
            default:
                var loss = 0f;
                for (var i = 0; i + 1 < Count; i += 2)
                {
                    var difference = Similarity(i, offset) - Similarity(i + 1, offset) - MachineEpsilon;
                    loss += FastSigmoid(Math.Min(difference, 0f));
                }

                return loss;
        }
    }

    /// <summary>
    /// The best <paramref name="limit"/> points by <see cref="Score"/> among the searchable ones passing
    /// <paramref name="filter"/>: through the HNSW graph (Qdrant's way: the graph is walked with the query's own score)
    /// or exactly by the same plan as a vector search; sparse vectors are scored one by one.
    /// </summary>
    public List<(int Offset, float Score)> Search(CollectionState current, Filter? filter, int limit, int ef, bool exact)
    {
        List<ScoredNode> nodes;
        if (dense is not null)
        {
            var scorer = new Scorer(this, dense);
            nodes = VectorSearch.SearchWith(current, dense, ref scorer, filter, Excluded, limit, ef, exact);
        }
        else
        {
            nodes = TopSparse(current, filter, limit);
        }

        // Ties (common: every point inside all the context pairs scores 0) go to the lower offset, as in a re-scoring.
        nodes.Sort(static (a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Node.CompareTo(b.Node));
        return nodes.ConvertAll(n => (n.Node, -n.Distance));
    }

    /// <summary>True when the point at <paramref name="offset"/> has the vector the examples are compared in.</summary>
    public bool HasVector(int offset) => dense?.Searchable.Get(offset) ?? sparse!.Get(offset) is not null;

    private int Count => dense is not null ? denseExamples.Length : sparseExamples.Length;

    private float Similarity(int example, int offset) => dense is not null
        ? -MetricDispatch.Distance(dense.Distance, denseExamples[example], dense.Store.Get(offset))
        : sparse!.Score(sparseExamples[example], sparseWeights[example], offset);

    private List<ScoredNode> TopSparse(CollectionState current, Filter? filter, int limit)
    {
        var scored = new List<ScoredNode>();
        var count = current.Count;
        for (var offset = 0; offset < count; offset++)
        {
            if (current.IsLive(offset) && sparse!.Get(offset) is not null && Array.IndexOf(Excluded, offset) < 0 &&
                (filter is null || FilterEvaluator.Matches(filter, current, offset)))
            {
                scored.Add(new ScoredNode(-Score(offset), offset));
            }
        }

        scored.Sort(static (a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Node.CompareTo(b.Node));
        return scored.Count > limit ? scored[..limit] : scored;
    }

    /// <summary>Qdrant's <c>fast_sigmoid</c>: <c>x / (1 + |x|)</c>, in (−1, 1).</summary>
    private static float FastSigmoid(float x) => x / (1f + Math.Abs(x));

    /// <summary>Qdrant's <c>scaled_fast_sigmoid</c>: the fast sigmoid mapped to (0, 1).</summary>
    private static float ScaledFastSigmoid(float x) => 0.5f * (FastSigmoid(x) + 1f);

    private static (VectorSlot? Dense, SparseSlot? Sparse) Slots(CollectionState current, string vectorName)
    {
        if (current.SparseSlot(vectorName) is { } sparse)
        {
            return (null, sparse);
        }

        return (WritePath.SlotOrThrow(current, vectorName), null);
    }

    private static void AddPairs(CollectionState current, VectorSlot? dense, SparseSlot? sparse, string vectorName, IReadOnlyList<ContextPair> pairs, List<object> examples, List<int> excluded)
    {
        foreach (var pair in pairs)
        {
            examples.Add(Resolve(current, dense, sparse, vectorName, pair.Positive, excluded, preprocess: true));
            examples.Add(Resolve(current, dense, sparse, vectorName, pair.Negative, excluded, preprocess: true));
        }
    }

    /// <summary>An example as a vector of the slot (a <c>float[]</c> or a <see cref="SparseVector"/>); stored points join <paramref name="excluded"/>.</summary>
    private static object Resolve(CollectionState current, VectorSlot? dense, SparseSlot? sparse, string vectorName, QueryInput example, List<int> excluded, bool preprocess)
    {
        switch (example)
        {
            case PointIdQuery byId:
                if (!current.TryGetOffset(byId.Id, out var offset))
                {
                    throw VectorizerException.PointNotFound(byId.Id.ToString());
                }

                if (!excluded.Contains(offset))
                {
                    excluded.Add(offset);
                }

                if (dense is not null)
                {
                    return dense.Searchable.Get(offset)
                        ? dense.Store.Get(offset).ToArray()
                        : throw new VectorizerException(ErrorCode.PointNotFound, $"Vector with name `{vectorName}` for point {byId.Id} not found");
                }

                return sparse!.Get(offset) ?? throw new VectorizerException(ErrorCode.PointNotFound, $"Vector with name `{vectorName}` for point {byId.Id} not found");
            case DenseVectorQuery given when dense is not null:
                if (given.Vector.Length != dense.Dimension)
                {
                    throw VectorizerException.WrongDimension(dense.Dimension, given.Vector.Length);
                }

                if (!VectorKernels.AllFinite(given.Vector))
                {
                    throw VectorizerException.BadRequest("Query vector contains NaN or infinite values");
                }

                var vector = (float[])given.Vector.Clone();
                if (preprocess)
                {
                    MetricDispatch.Preprocess(dense.Distance, vector);
                }

                return vector;
            case SparseVectorQuery given when sparse is not null:
                return given.Vector;
            case DenseVectorQuery or SparseVectorQuery:
                throw VectorizerException.BadRequest(dense is not null
                    ? $"`{(vectorName.Length == 0 ? "the default vector" : vectorName)}` is a dense vector: its examples must be dense vectors or point ids"
                    : $"`{vectorName}` is a sparse vector: its examples must be sparse vectors or point ids");
            default:
                throw VectorizerException.BadRequest($"An example must be a vector or a point id, not {example.GetType().Name}");
        }
    }

    private static float[] Average(IEnumerable<float[]> vectors, int dimension)
    {
        var sum = new float[dimension];
        var n = 0;
        foreach (var vector in vectors)
        {
            for (var i = 0; i < dimension; i++)
            {
                sum[i] += vector[i];
            }

            n++;
        }

        for (var i = 0; i < dimension; i++)
        {
            sum[i] /= n;
        }

        return sum;
    }

    private static SparseVector Average(IEnumerable<SparseVector> vectors)
    {
        var sums = new SortedDictionary<uint, float>();
        var n = 0;
        foreach (var vector in vectors)
        {
            for (var i = 0; i < vector.Count; i++)
            {
                sums[vector.Indices[i]] = sums.GetValueOrDefault(vector.Indices[i]) + vector.Values[i];
            }

            n++;
        }

        return SparseVector.Create([.. sums.Keys], [.. sums.Values.Select(v => v / n)]);
    }

    /// <summary><c>a·x + b·y</c> over the union of their dimensions.</summary>
    private static SparseVector Combine(SparseVector x, float a, SparseVector y, float b)
    {
        var sums = new SortedDictionary<uint, float>();
        for (var i = 0; i < x.Count; i++)
        {
            sums[x.Indices[i]] = a * x.Values[i];
        }

        for (var i = 0; i < y.Count; i++)
        {
            sums[y.Indices[i]] = sums.GetValueOrDefault(y.Indices[i]) + (b * y.Values[i]);
        }

        return SparseVector.Create([.. sums.Keys], [.. sums.Values]);
    }

    /// <summary>Walks the graph with the query's score (distance = −score); distances between nodes are the slot's metric.</summary>
    private readonly struct Scorer(ExampleScoring scoring, VectorSlot slot) : IGraphScorer
    {
        public float Distance(int node) => -scoring.Score(node);

        public float Between(int a, int b) => MetricDispatch.Distance(slot.Distance, slot.Store.Get(a), slot.Store.Get(b));

        public void Prefetch(int node)
        {
        }

        public void KeepAlive() => GC.KeepAlive(slot.Store);
    }
}
