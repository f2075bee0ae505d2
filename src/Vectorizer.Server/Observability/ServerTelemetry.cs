using System.Diagnostics;
using Vectorizer.Engine.Diagnostics;

namespace Vectorizer.Server.Observability;

/// <summary>
/// The server's <see cref="ActivitySource"/> (<c>Vectorizer.Server</c>): one span per application-service operation
/// (<c>points.query</c>, <c>collections.create</c>, ...), a child of the request's span and the parent of the engine's
/// (<c>wal.append</c>, <c>wal.fsync</c>, <c>search</c>). Without a listener (OTLP off) starting one costs one check.
/// </summary>
public static class ServerTelemetry
{
    public const string SourceName = "Vectorizer.Server";

    /// <summary>The server's meter (instruments made per host through <c>IMeterFactory</c>).</summary>
    public const string MeterName = "Vectorizer.Server";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts the span of an operation on <paramref name="collection"/> (null: not about one collection).</summary>
    public static Activity? Operation(string name, string? collection = null)
    {
        var activity = Source.StartActivity(name);
        if (activity is not null)
        {
            activity.SetTag("db.operation.name", name);
            if (collection is not null)
            {
                activity.SetTag(EngineTelemetry.CollectionTag, collection);
            }
        }

        return activity;
    }
}
