using System.Diagnostics;

namespace Vectorizer.Engine.Diagnostics;

/// <summary>
/// The engine's <see cref="ActivitySource"/> (<c>Vectorizer.Engine</c>): spans for WAL appends, WAL syncs and searches.
/// It is plain BCL: nothing is recorded (and <see cref="ActivitySource.StartActivity(string, ActivityKind)"/> returns null
/// at the cost of one check) unless a listener subscribes, as the server's OpenTelemetry tracer does.
/// </summary>
public static class EngineTelemetry
{
    public const string SourceName = "Vectorizer.Engine";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>The collection a span is about (OpenTelemetry's database convention).</summary>
    public const string CollectionTag = "db.collection.name";
}
