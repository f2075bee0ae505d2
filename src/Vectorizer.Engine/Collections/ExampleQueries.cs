using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;

namespace Vectorizer.Engine.Collections;

/// <summary>How <see cref="RecommendQuery"/> turns its examples into a ranking.</summary>
public enum RecommendStrategy
{
    /// <summary>One query vector, <c>avg(positive) + (avg(positive) − avg(negative))</c>, searched as usual (metric scores).</summary>
    AverageVector,

    /// <summary>
    /// Each candidate scores its best similarity to a positive example (squashed into (0, 1)) when that beats its best
    /// similarity to a negative one, else minus the squashed negative similarity: anything nearer a positive ranks above
    /// anything nearer a negative.
    /// </summary>
    BestScore,

    /// <summary>The sum of the similarities to the positive examples minus the sum to the negative ones.</summary>
    SumScores,
}

/// <summary>
/// Points like <see cref="Positive"/> and unlike <see cref="Negative"/>. Each example is a vector
/// (<see cref="DenseVectorQuery"/>, <see cref="SparseVectorQuery"/>) or a stored point (<see cref="PointIdQuery"/>, whose
/// vector named by <c>using</c> is taken; stored examples never appear in the results).
/// </summary>
public sealed record RecommendQuery(IReadOnlyList<QueryInput> Positive, IReadOnlyList<QueryInput> Negative, RecommendStrategy Strategy = RecommendStrategy.AverageVector) : QueryInput;

/// <summary>A pair of examples that splits the space in two: the half nearer <see cref="Positive"/> is preferred.</summary>
public sealed record ContextPair(QueryInput Positive, QueryInput Negative);

/// <summary>
/// Discovery: points on the positive side of as many <see cref="Context"/> pairs as possible, and among those the ones
/// nearest <see cref="Target"/>. The score is the number of pairs a point is on the positive side of minus the number it
/// is on the negative side of, plus its similarity to the target squashed into (0, 1).
/// </summary>
public sealed record DiscoverQuery(QueryInput Target, IReadOnlyList<ContextPair> Context) : QueryInput;

/// <summary>
/// Context search: no target, only the pairs. Each pair adds a loss in (−1, 0]: 0 on its positive side, growing with the
/// margin by which a point is nearer the negative example. Points inside every pair's positive half all score 0.
/// </summary>
public sealed record ContextQuery(IReadOnlyList<ContextPair> Pairs) : QueryInput;

/// <summary>
/// Where the stored-point examples of a query (<see cref="PointIdQuery"/>) come from when not from the collection being
/// searched: another collection's vector <see cref="Vector"/> (null: its default vector). Resolved by the caller before
/// the query reaches the engine (the engine sees one collection at a time); examples looked up elsewhere are not
/// excluded from the results.
/// </summary>
public sealed record LookupLocation(string Collection, string? Vector = null);

/// <summary>
/// A query whose results are grouped by the values of a payload field: up to <see cref="Limit"/> groups (in the order
/// of their best point), each with up to <see cref="GroupSize"/> points. A point whose field holds an array joins the
/// group of each value. Only string and integer values form groups.
/// </summary>
public sealed record GroupsRequest(QueryRequest Query, JsonPath GroupBy, int GroupSize = 3, int Limit = 10);

/// <summary>The value a group shares: a string, or an integer.</summary>
public readonly record struct GroupKey(string? Text, long Integer)
{
    public bool IsText => Text is not null;

    public static GroupKey Of(string text) => new(text, 0);

    public static GroupKey Of(long integer) => new(null, integer);

    public override string ToString() => Text ?? Integer.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>One group of a <see cref="GroupsRequest"/>: its key and its points, best first.</summary>
public sealed record PointGroup(GroupKey Id, IReadOnlyList<ScoredPoint> Hits);

/// <summary>
/// Counts of points per value of an indexed payload field (<c>keyword</c>, <c>integer</c>, <c>bool</c> or
/// <c>uuid</c>), among the points passing <see cref="Filter"/>. The most frequent <see cref="Limit"/> values, ties by
/// value. Counts are always exact (<see cref="Exact"/> is accepted for Qdrant's clients).
/// </summary>
public sealed record FacetRequest(JsonPath Key, Filters.Filter? Filter = null, int Limit = 10, bool Exact = false);

public enum FacetValueKind
{
    Keyword,
    Integer,
    Boolean,
}

/// <summary>A value counted by a facet (a UUID is a <see cref="FacetValueKind.Keyword"/> in its canonical form).</summary>
public readonly record struct FacetValue(FacetValueKind Kind, string? Keyword, long Integer, bool Boolean) : IComparable<FacetValue>
{
    public static FacetValue Of(string keyword) => new(FacetValueKind.Keyword, keyword, 0, false);

    public static FacetValue Of(long integer) => new(FacetValueKind.Integer, null, integer, false);

    public static FacetValue Of(bool boolean) => new(FacetValueKind.Boolean, null, 0, boolean);

    public int CompareTo(FacetValue other) => Kind != other.Kind
        ? Kind.CompareTo(other.Kind)
        : Kind switch
        {
            FacetValueKind.Keyword => string.CompareOrdinal(Keyword, other.Keyword),
            FacetValueKind.Integer => Integer.CompareTo(other.Integer),
            _ => Boolean.CompareTo(other.Boolean),
        };
}

public sealed record FacetHit(FacetValue Value, long Count);

/// <summary>
/// The distance matrix of a random sample: <see cref="Sample"/> points passing <see cref="Filter"/> that have the vector
/// <see cref="Using"/>, and for each of them its <see cref="Limit"/> nearest among the others of the sample.
/// </summary>
public sealed record SearchMatrixRequest(Filters.Filter? Filter = null, int Sample = 10, int Limit = 3, string Using = "");

/// <summary>One cell of a <see cref="SearchMatrix"/>: <see cref="Row"/>'s neighbour <see cref="Column"/> (indexes into the ids) and their score.</summary>
public readonly record struct MatrixEntry(int Row, int Column, float Score);

/// <summary>The sampled points (in sample order) and, row by row, each one's nearest neighbours among them, best first.</summary>
public sealed record SearchMatrix(IReadOnlyList<PointId> Ids, IReadOnlyList<MatrixEntry> Entries);
