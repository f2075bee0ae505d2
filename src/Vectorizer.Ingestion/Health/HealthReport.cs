using System.Text.Json;

namespace Vectorizer.Ingestion.Health;

/// <summary>
/// The outcome of a check, a collection or a whole report, worst last: PASS (no issue), INFO (worth knowing, no
/// action needed), FAIL (needs attention), ERROR (could not be checked, e.g. no source root).
/// </summary>
public enum HealthStatus
{
    Pass,
    Info,
    Fail,
    Error,
}

/// <summary>One example of an issue: the file and/or point concerned and what is wrong.</summary>
public sealed record HealthExample(string? FilePath, string? PointId, string Detail);

/// <summary>
/// One check of one collection. <see cref="Count"/> counts what the check is about (files for orphans, missing
/// files and content sync; points for integrity and metadata); <see cref="Details"/> holds further numbers (a
/// <see cref="double"/>) or per-field counts (an <see cref="IReadOnlyDictionary{TKey,TValue}"/> of string to long).
/// </summary>
public sealed record CheckResult(string Name, HealthStatus Status, long Count, string Message, IReadOnlyList<HealthExample> Examples)
{
    public IReadOnlyList<KeyValuePair<string, object>> Details { get; init; } = [];
}

/// <summary>What <c>--fix</c> did to one collection.</summary>
public sealed record FixSummary(long DeletedPoints, int IndexedFiles, int ReindexedFiles, long PointsWritten, IReadOnlyList<HealthExample> Skipped);

/// <summary>One collection's health; after a fix, <see cref="Checks"/> are the re-check and <see cref="Before"/> the first check.</summary>
public sealed record CollectionHealth(string Name, HealthStatus Status, string Message)
{
    public string? SourceRoot { get; init; }

    public long Points { get; init; }

    public IReadOnlyList<CheckResult> Checks { get; init; } = [];

    public CollectionHealth? Before { get; init; }

    public FixSummary? Fix { get; init; }
}

public sealed record HealthReport(HealthStatus Status, DateTimeOffset CheckedAt, bool Fix, IReadOnlyList<CollectionHealth> Collections)
{
    /// <summary>The command line's exit code: 0 all PASS/INFO, 1 any FAIL, 2 any collection that could not be checked.</summary>
    public int ExitCode => Status switch
    {
        HealthStatus.Pass or HealthStatus.Info => 0,
        HealthStatus.Fail => 1,
        _ => 2,
    };

    public static HealthStatus Worst(IEnumerable<HealthStatus> statuses)
    {
        var worst = HealthStatus.Pass;
        foreach (var status in statuses)
        {
            worst = status > worst ? status : worst;
        }

        return worst;
    }
}

/// <summary>The report's JSON form (the body of <c>GET /api/health-check</c> and the <c>--output</c> file); see the README.</summary>
public static class HealthReportJson
{
    public static string Name(HealthStatus status) => status switch
    {
        HealthStatus.Pass => "PASS",
        HealthStatus.Info => "INFO",
        HealthStatus.Fail => "FAIL",
        _ => "ERROR",
    };

    public static byte[] ToUtf8(HealthReport report, bool indented)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
        {
            Write(writer, report);
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static void Write(Utf8JsonWriter w, HealthReport report)
    {
        w.WriteStartObject();
        w.WriteString("status", Name(report.Status));
        w.WriteString("checked_at", report.CheckedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteBoolean("fix", report.Fix);
        w.WriteStartArray("collections");
        foreach (var collection in report.Collections)
        {
            WriteCollection(w, collection);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteCollection(Utf8JsonWriter w, CollectionHealth collection)
    {
        w.WriteStartObject();
        w.WriteString("name", collection.Name);
        WriteBody(w, collection);
        if (collection.Fix is { } fix)
        {
            w.WriteStartObject("fix");
            w.WriteNumber("deleted_points", fix.DeletedPoints);
            w.WriteNumber("indexed_files", fix.IndexedFiles);
            w.WriteNumber("reindexed_files", fix.ReindexedFiles);
            w.WriteNumber("points_written", fix.PointsWritten);
            WriteExamples(w, "skipped", fix.Skipped);
            w.WriteEndObject();
        }

        if (collection.Before is { } before)
        {
            w.WriteStartObject("before");
            WriteBody(w, before);
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static void WriteBody(Utf8JsonWriter w, CollectionHealth collection)
    {
        w.WriteString("status", Name(collection.Status));
        w.WriteString("message", collection.Message);
        if (collection.SourceRoot is { } root)
        {
            w.WriteString("source_root", root);
        }

        w.WriteNumber("points", collection.Points);
        w.WriteStartObject("checks");
        foreach (var check in collection.Checks)
        {
            w.WriteStartObject(check.Name);
            w.WriteString("status", Name(check.Status));
            w.WriteNumber("count", check.Count);
            w.WriteString("message", check.Message);
            foreach (var (key, value) in check.Details)
            {
                switch (value)
                {
                    case double number:
                        w.WriteNumber(key, number);
                        break;
                    case IReadOnlyDictionary<string, long> fields:
                        w.WriteStartObject(key);
                        foreach (var (field, count) in fields)
                        {
                            w.WriteNumber(field, count);
                        }

                        w.WriteEndObject();
                        break;
                }
            }

            WriteExamples(w, "examples", check.Examples);
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static void WriteExamples(Utf8JsonWriter w, string name, IReadOnlyList<HealthExample> examples)
    {
        w.WriteStartArray(name);
        foreach (var example in examples)
        {
            w.WriteStartObject();
            if (example.FilePath is { } path)
            {
                w.WriteString("file_path", path);
            }

            if (example.PointId is { } id)
            {
                w.WriteString("point_id", id);
            }

            w.WriteString("detail", example.Detail);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }
}
