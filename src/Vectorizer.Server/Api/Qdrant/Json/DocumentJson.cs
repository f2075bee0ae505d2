using System.Text.Json;
using Vectorizer.Engine.Points;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Chunking;
using Vectorizer.Ingestion.Expansion;

namespace Vectorizer.Server.Api.Qdrant.Json;

/// <summary>Parses the bodies of <c>/documents</c> and <c>/search/text</c>, and writes the ingest result.</summary>
internal static class DocumentJson
{
    /// <summary><c>{"documents": [{"id"?, "text", "metadata"?}], "chunk"?: bool | {"max_chars"?, "overlap"?}}</c>.</summary>
    public static (List<DocumentInput> Documents, ChunkerOptions? Chunking) ParseDocuments(JsonInput body, int maxBatch)
    {
        body.ExpectObject();
        body.DenyUnknown("documents", "chunk");
        var documents = new List<DocumentInput>();
        foreach (var item in body.Required("documents").Items())
        {
            item.ExpectObject();
            item.DenyUnknown("id", "text", "metadata");
            PointId? id = item.TryGet("id", out var idInput) ? PointJson.ParseId(idInput) : null;
            JsonElement? metadata = item.TryGet("metadata", out var metadataInput) ? metadataInput.ExpectObject().Element : null;
            documents.Add(new DocumentInput(id, item.Required("text").AsString(), metadata));
        }

        if (documents.Count == 0)
        {
            throw body.Invalid("documents: must contain at least 1 item");
        }

        if (documents.Count > maxBatch)
        {
            throw body.Invalid($"too many documents in one request: {documents.Count}, the limit is {maxBatch}");
        }

        ChunkerOptions? chunking = null;
        if (body.TryGet("chunk", out var chunk))
        {
            if (chunk.Kind == JsonValueKind.Object)
            {
                chunk.DenyUnknown("max_chars", "overlap");
                chunking = new ChunkerOptions
                {
                    MaxChars = chunk.TryGet("max_chars", out var max) ? max.AsInt(min: 100, max: 1_000_000) : ChunkerOptions.Default.MaxChars,
                    Overlap = chunk.TryGet("overlap", out var overlap) ? overlap.AsInt(min: 0, max: 100_000) : ChunkerOptions.Default.Overlap,
                };
            }
            else if (chunk.AsBool())
            {
                chunking = ChunkerOptions.Default;
            }
        }

        return (documents, chunking);
    }

    /// <summary><c>{"query", "limit"?, "offset"?, "filter"?, "mode"?, "with_payload"?, "score_threshold"?, "expand"?: {"hyde", "mode"?}, "max_per_document"?}</c>.</summary>
    public static TextSearchRequest ParseSearch(JsonInput body)
    {
        body.ExpectObject();
        body.DenyUnknown("query", "limit", "offset", "filter", "mode", "with_payload", "score_threshold", "expand", "max_per_document");
        QueryExpansionRequest? expand = null;
        if (body.TryGet("expand", out var expandInput))
        {
            expandInput.ExpectObject();
            expandInput.DenyUnknown("hyde", "mode");
            var hydeMode = HydeMode.Average;
            if (expandInput.TryGet("mode", out var hydeModeInput))
            {
                hydeMode = hydeModeInput.AsString() switch
                {
                    "average" => HydeMode.Average,
                    "replace" => HydeMode.Replace,
                    var other => throw hydeModeInput.Error($"unknown variant `{other}`, expected `average` or `replace`"),
                };
            }

            expand = new QueryExpansionRequest(expandInput.TryGet("hyde", out var hyde) && hyde.AsBool(), hydeMode);
        }

        TextSearchMode? mode = null;
        if (body.TryGet("mode", out var modeInput))
        {
            mode = modeInput.AsString() switch
            {
                "dense" => TextSearchMode.Dense,
                "sparse" => TextSearchMode.Sparse,
                "hybrid" => TextSearchMode.Hybrid,
                var other => throw modeInput.Error($"unknown variant `{other}`, expected one of `dense`, `sparse`, `hybrid`"),
            };
        }

        var query = body.Required("query").AsString();
        if (string.IsNullOrWhiteSpace(query))
        {
            throw body.Required("query").Invalid("must not be empty");
        }

        return new TextSearchRequest
        {
            Query = query,
            Limit = body.TryGet("limit", out var limit) ? limit.AsInt(min: 1) : 10,
            Offset = body.TryGet("offset", out var offset) ? offset.AsInt(min: 0) : 0,
            Filter = FilterJson.ParseOptional(body, "filter"),
            Mode = mode,
            WithPayload = PointJson.ParseWithPayload(body, "with_payload", fallback: true),
            ScoreThreshold = body.TryGet("score_threshold", out var threshold) ? (float)threshold.AsDouble() : null,
            Expand = expand,
            MaxPerDocument = body.TryGet("max_per_document", out var perDocument) ? perDocument.AsInt(min: 0) : TextSearchRequest.DefaultMaxPerDocument,
        };
    }

    /// <summary>The <c>/points/query</c> result, plus <c>expansion</c> when one was asked for: <c>{"hyde": status, "text"?, "message"?}</c>.</summary>
    public static void SearchResult(Utf8JsonWriter writer, TextSearchResult result, bool namedVectors)
    {
        if (result.Expansion is not { } expansion)
        {
            ResponseJson.QueryResponse(writer, result.Points, namedVectors);
            return;
        }

        writer.WriteStartObject();
        writer.WriteStartArray("points");
        foreach (var point in result.Points)
        {
            ResponseJson.ScoredPoint(writer, point, namedVectors);
        }

        writer.WriteEndArray();
        writer.WriteStartObject("expansion");
        writer.WriteString("hyde", expansion.Status switch
        {
            QueryExpansionStatus.Applied => "applied",
            QueryExpansionStatus.Cached => "cached",
            QueryExpansionStatus.TimedOut => "timed_out",
            QueryExpansionStatus.Failed => "failed",
            _ => "unknown",
        });
        writer.WriteBoolean("expanded", expansion.Expanded);
        if (expansion.Text is { } text)
        {
            writer.WriteString("text", text);
        }

        if (expansion.Message is { } message)
        {
            writer.WriteString("message", message);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    public static void IngestResult(Utf8JsonWriter writer, IngestResult result)
    {
        writer.WriteStartObject();
        writer.WriteNumber("operation_id", result.Update.OperationId);
        writer.WriteString("status", result.Update.Status == Engine.Operations.UpdateStatus.Completed ? "completed" : "acknowledged");
        writer.WriteNumber("documents", result.Documents);
        writer.WriteNumber("points", result.Ids.Count);
        writer.WriteStartArray("ids");
        foreach (var id in result.Ids)
        {
            ResponseJson.Id(writer, id);
        }

        writer.WriteEndArray();
        if (result.Usage is { } usage)
        {
            writer.WriteStartObject("usage");
            writer.WriteNumber("embedded", usage.Embedded);
            writer.WriteNumber("cached", usage.Cached);
            writer.WriteNumber("tokens", usage.Tokens);
            writer.WriteNumber("cost", usage.Cost);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }
}
