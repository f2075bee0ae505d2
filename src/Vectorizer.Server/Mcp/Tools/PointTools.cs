using System.Text.Json.Nodes;
using Vectorizer.Engine.Operations;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Mcp;

/// <summary>Point writes and reads (REST: <c>/collections/{c}/points/...</c>), through <see cref="PointsService"/>.</summary>
internal static class PointTools
{
    public static IEnumerable<McpTool> All =>
    [
        new(
            "upsert_points",
            "Insert or update points",
            "Insert points, or replace the points with the same ids: each {id, vector, payload?}. The vector is a list of numbers for a collection with one unnamed vector, "
            + "else an object by vector name (sparse vectors as {indices, values}). At most `limits.max_batch` points a call.",
            ToolEffect.Write,
            Schema.Object(
                Schemas.Collection,
                new Prop("points", Schema.ArrayOf(
                    Schema.Object(
                        "A point.",
                        closed: true,
                        new Prop("id", Schemas.PointId("Its id: an unsigned integer or a UUID."), Required: true),
                        new Prop("vector", Schema.AnyOf(
                            "Its vector: [numbers] for the unnamed vector, or {\"name\": [numbers] | {\"indices\": [...], \"values\": [...]}}.",
                            Schemas.DenseVector("The unnamed dense vector."),
                            Schema.FreeObject("Named vectors.")), Required: true),
                        new Prop("payload", Schema.Nullable(Schema.FreeObject("JSON payload, e.g. {\"city\": \"Oslo\", \"tags\": [\"a\"]}.")))),
                    "The points to write, e.g. [{\"id\": 1, \"vector\": [0.1, 0.2, 0.3, 0.4], \"payload\": {\"city\": \"Oslo\"}}].",
                    minItems: 1), Required: true),
                Schemas.Wait),
            Schemas.UpdateResult("The write.", new Prop("points", Schema.Integer("Points written.", minimum: 0))),
            UpsertPoints),
        new(
            "get_points",
            "Get points by id",
            "Retrieve points by id, with their payloads (default) and optionally their vectors. Ids that do not exist are left out.",
            ToolEffect.Read,
            Schema.Object(
                Schemas.Collection,
                new Prop("ids", Schemas.PointIds, Required: true),
                Schemas.WithPayload(@default: true),
                Schemas.WithVector),
            Schemas.Points(Schemas.Record, "The points found, in the order asked."),
            GetPoints),
        new(
            "delete_points",
            "Delete points",
            "Delete points by id (`points`) or every point matching a `filter` (one of the two).",
            ToolEffect.Destructive,
            Schema.Object(
                Schemas.Collection,
                new Prop("points", Schemas.PointIds),
                Schemas.Filter,
                Schemas.Wait),
            Schemas.UpdateResult("The delete."),
            DeletePoints),
        new(
            "set_payload",
            "Set payload keys",
            "Set payload keys on points chosen by id (`points`) or `filter`: the keys given replace those keys (others stay), or with `overwrite: true` the payload is replaced whole. "
            + "`key` sets them inside a nested object at that path.",
            ToolEffect.Write,
            Schema.Object(
                Schemas.Collection,
                new Prop("payload", Schema.FreeObject("Keys and values to set.", """{"reviewed": true, "tags": ["a", "b"]}"""), Required: true),
                new Prop("points", Schemas.PointIds),
                Schemas.Filter,
                new Prop("key", Schema.String("A payload path to set the keys under (e.g. `meta.review`).")),
                new Prop("overwrite", Schema.Boolean("Replace the whole payload instead of merging keys.", @default: false)),
                Schemas.Wait),
            Schemas.UpdateResult("The payload write."),
            SetPayload),
        new(
            "count_points",
            "Count points",
            "Count the points (matching `filter`, if given). Exact.",
            ToolEffect.Read,
            Schema.Object(Schemas.Collection, Schemas.Filter),
            Schema.Object(null, closed: false, new Prop("count", Schema.Integer("Points counted.", minimum: 0), Required: true)),
            CountPoints),
        new(
            "scroll_points",
            "Page through points",
            "Read points page by page (by id, or by a payload field with `order_by`, which needs a range index on it), optionally filtered. "
            + "Pass `next_page_offset` of one answer as `offset` of the next; null means the end.",
            ToolEffect.Read,
            Schema.Object(
                Schemas.Collection,
                Schemas.Filter,
                new Prop("limit", Schema.Integer("Points per page.", minimum: 1, maximum: 10_000, @default: 10)),
                new Prop("offset", Schemas.PointId("Start at this id (the previous page's next_page_offset).")),
                new Prop("order_by", Schema.AnyOf(
                    "Order by a payload key instead of id: \"key\" or {\"key\", \"direction\": \"asc\" | \"desc\", \"start_from\"?}.",
                    Schema.String("A payload key."),
                    Schema.FreeObject("{key, direction, start_from}."))),
                Schemas.WithPayload(@default: true),
                Schemas.WithVector),
            Schema.OpenObject(
                "A page.",
                new Prop("points", Schema.ArrayOf(Schemas.Record, "The page's points."), Required: true),
                new Prop("next_page_offset", Schema.AnyOf("The offset of the next page; null at the end.", Schemas.PointId("An id."), new JsonObject { ["type"] = "null" }), Required: true)),
            ScrollPoints),
    ];

    private static async Task<ToolOutput> Write(ToolCall call, UpdateOperation operation, string what)
    {
        var (target, result) = await call.Service<PointsService>().UpdateAsync(call.Call, call.Collection, operation, call.Bool("wait", true), call.CancellationToken).ConfigureAwait(false);
        var structured = ToolOutput.Write(w => ResponseJson.UpdateResult(w, result));
        return new ToolOutput(structured, $"{what} in `{target.Name}` (operation {result.OperationId}, {(result.Status == UpdateStatus.Completed ? "durable" : "acknowledged")}).");
    }

    private static async Task<ToolOutput> UpsertPoints(ToolCall call)
    {
        var settings = call.Service<VectorizerSettings>();
        var operation = RequestJson.ParseUpsert(call.Body("collection", "wait"), settings.Limits.MaxBatch);
        var count = operation is UpsertOperation upsert ? upsert.Points.Count : 0;
        var output = await Write(call, operation, $"Wrote {count} point{(count == 1 ? "" : "s")}").ConfigureAwait(false);
        output.Structured["points"] = count;
        return output;
    }

    private static Task<ToolOutput> GetPoints(ToolCall call)
    {
        var body = call.Body("collection");
        var (target, records) = call.Service<PointsService>().Retrieve(
            call.Call,
            call.Collection,
            PointJson.ParseIds(body.Required("ids")),
            PointJson.ParseWithPayload(body, "with_payload", fallback: true),
            PointJson.ParseWithVector(body, fallback: false));
        var structured = ToolOutput.Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("points");
            foreach (var record in records)
            {
                ResponseJson.Record(w, record, target.Config.NamedVectors);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
        return Task.FromResult(new ToolOutput(structured, $"{records.Count} point{(records.Count == 1 ? "" : "s")} found in `{target.Name}`" + Ids(records.Select(r => r.Id.ToString()))));
    }

    private static Task<ToolOutput> DeletePoints(ToolCall call) =>
        Write(call, new DeletePointsOperation(PointJson.ParseSelector(call.Body("collection", "wait"), allowBoth: false)), "Deleted the points chosen");

    private static Task<ToolOutput> SetPayload(ToolCall call)
    {
        var overwrite = call.Bool("overwrite", false);
        var operation = RequestJson.ParseSetPayload(call.Body("collection", "wait", "overwrite"), overwrite);
        return Write(call, operation, overwrite ? "Replaced the payloads" : "Set the payload keys");
    }

    private static Task<ToolOutput> CountPoints(ToolCall call)
    {
        var filter = FilterJson.ParseOptional(call.Args, "filter");
        var (target, count) = call.Service<PointsService>().Count(call.Call, call.Collection, filter);
        return Task.FromResult(new ToolOutput(new JsonObject { ["count"] = count }, $"{count} point{(count == 1 ? "" : "s")} in `{target.Name}`{(filter is null ? "" : " match the filter")}."));
    }

    private static Task<ToolOutput> ScrollPoints(ToolCall call)
    {
        var (target, result) = call.Service<PointsService>().Scroll(call.Call, call.Collection, RequestJson.ParseScroll(call.Body("collection")));
        var structured = ToolOutput.Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("points");
            foreach (var record in result.Points)
            {
                ResponseJson.Record(w, record, target.Config.NamedVectors);
            }

            w.WriteEndArray();
            w.WritePropertyName("next_page_offset");
            if (result.NextPageOffset is { } next)
            {
                ResponseJson.Id(w, next);
            }
            else
            {
                w.WriteNullValue();
            }

            w.WriteEndObject();
        });
        var more = result.NextPageOffset is { } offset ? $"; next page: offset {offset}" : "; no more pages";
        return Task.FromResult(new ToolOutput(structured, $"{result.Points.Count} point{(result.Points.Count == 1 ? "" : "s")} from `{target.Name}`{Ids(result.Points.Select(p => p.Id.ToString()))}{more}."));
    }

    /// <summary>": ids 1, 2, 3" (the first ten).</summary>
    internal static string Ids(IEnumerable<string> ids)
    {
        var list = ids.Take(11).ToList();
        return list.Count == 0 ? "" : ": ids " + string.Join(", ", list.Take(10)) + (list.Count > 10 ? ", ..." : "");
    }
}
