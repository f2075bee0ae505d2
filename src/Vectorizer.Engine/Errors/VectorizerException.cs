namespace Vectorizer.Engine.Errors;

/// <summary>The one exception type the engine throws for expected failures.</summary>
public sealed class VectorizerException : Exception
{
    public VectorizerException(ErrorCode code, string message)
        : base(message)
    {
        Code = code;
    }

    public VectorizerException(ErrorCode code, string message, Exception inner)
        : base(message, inner)
    {
        Code = code;
    }

    public ErrorCode Code { get; }

    public static VectorizerException BadRequest(string message) => new(ErrorCode.BadRequest, message);

    public static VectorizerException Validation(string message) => new(ErrorCode.ValidationFailed, message);

    public static VectorizerException CollectionNotFound(string name) =>
        new(ErrorCode.CollectionNotFound, $"Collection `{name}` doesn't exist!");

    public static VectorizerException CollectionFailed(Collections.FailedCollection failed) =>
        new(ErrorCode.CollectionFailed,
            $"Collection `{failed.Name}` exists on disk but could not be opened ({failed.Reason}). It is not served and its files in " +
            $"{failed.Path} are kept as they are: stop the server and run `vectorizer collection check {failed.Name}`, then " +
            $"`vectorizer collection repair {failed.Name}` or `vectorizer collection quarantine {failed.Name}`");

    public static VectorizerException PointNotFound(string id) =>
        new(ErrorCode.PointNotFound, $"No point with id {id} found");

    public static VectorizerException WrongDimension(int expected, int got, string? vectorName = null) =>
        new(ErrorCode.WrongVectorDimension, vectorName is null or ""
            ? $"Vector dimension error: expected dim: {expected}, got {got}"
            : $"Vector dimension error: expected dim: {expected}, got {got} for vector `{vectorName}`");

    public static VectorizerException VectorNameNotFound(string name) =>
        new(ErrorCode.VectorNameNotFound, name.Length == 0
            ? "Not existing vector name error: default vector (collection has only named vectors)"
            : $"Not existing vector name error: {name}");
}
