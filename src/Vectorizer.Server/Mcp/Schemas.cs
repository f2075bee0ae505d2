using System.Text.Json.Nodes;

namespace Vectorizer.Server.Mcp;

/// <summary>Schema fragments shared by several tools (arguments that mirror the REST API's bodies, and its results).</summary>
internal static class Schemas
{
    public static Prop Collection => new("collection", Schema.String("Collection name or alias.", "docs"), Required: true);

    public static JsonObject PointId(string description) => Schema.AnyOf(
        description,
        Schema.Integer("An unsigned integer id.", minimum: 0),
        new JsonObject { ["type"] = "string", ["format"] = "uuid", ["description"] = "A UUID id." });

    public static JsonObject PointIds => Schema.ArrayOf(PointId("A point id."), "Point ids: unsigned integers or UUIDs, e.g. [1, 2, \"5c56c793-69f3-4fbf-87e6-c4bf54c28c26\"].", minItems: 1);

    public static Prop Filter => new("filter", Schema.FreeObject(
        "A Qdrant filter: {\"must\": [...], \"should\": [...], \"must_not\": [...]} of conditions such as {\"key\": \"city\", \"match\": {\"value\": \"Oslo\"}}, "
        + "{\"key\": \"price\", \"range\": {\"gte\": 10, \"lt\": 20}}, {\"key\": \"text\", \"match\": {\"text\": \"word\"}}, {\"has_id\": [1, 2]}, {\"is_empty\": {\"key\": \"tags\"}}.",
        """{"must": [{"key": "city", "match": {"value": "Oslo"}}]}""",
        """{"should": [{"key": "price", "range": {"lt": 20}}, {"key": "tags", "match": {"any": ["sale"]}}]}"""));

    public static JsonObject DenseVector(string description) => Schema.ArrayOf(Schema.Number("A component."), description, minItems: 1);

    public static JsonObject SparseVector(string description) => Schema.Object(
        description,
        closed: true,
        new Prop("indices", Schema.ArrayOf(Schema.Integer("A dimension.", minimum: 0, maximum: uint.MaxValue), "The non-zero dimensions (unique)."), Required: true),
        new Prop("values", Schema.ArrayOf(Schema.Number("A value."), "Their values, as many as indices."), Required: true));

    public static Prop WithPayload(bool @default) => new("with_payload", Schema.AnyOf(
        $"Which payload to return: true (all, default {(@default ? "true" : "false")}), false, a list of keys, or {{\"include\": [...]}} / {{\"exclude\": [...]}}.",
        Schema.Boolean("All or nothing."),
        Schema.ArrayOf(Schema.String("A payload key."), "These keys only."),
        Schema.FreeObject("{\"include\": [keys]} or {\"exclude\": [keys]}.")));

    public static Prop WithVector => new("with_vector", Schema.AnyOf(
        "Return vectors: true (all), false (default), or a list of vector names.",
        Schema.Boolean("All or nothing."),
        Schema.ArrayOf(Schema.String("A vector name."), "These vectors only.")));

    public static Prop Wait => new("wait", Schema.Boolean("Return after the write is durable (fsynced) rather than as soon as it is logged.", @default: true));

    /// <summary>A point as the REST API returns it (<c>id</c>, <c>payload</c>, <c>vector</c>).</summary>
    public static JsonObject Record => Schema.OpenObject(
        "A point.",
        new Prop("id", PointId("The point's id."), Required: true),
        new Prop("payload", Schema.Nullable(Schema.FreeObject("Its payload (when asked for)."))),
        new Prop("vector", Schema.Any("Its vector(s) (when asked for): a list of numbers, or an object of named vectors.")));

    /// <summary>A search hit as the REST API returns it.</summary>
    public static JsonObject ScoredPoint => Schema.OpenObject(
        "A point found, best first.",
        new Prop("id", PointId("The point's id."), Required: true),
        new Prop("score", Schema.Number("Similarity (higher is closer; for Euclid and Manhattan the negated distance is not used: lower distance, higher rank)."), Required: true),
        new Prop("version", Schema.Integer("The operation that last wrote the point.")),
        new Prop("payload", Schema.Nullable(Schema.FreeObject("Its payload (when asked for)."))),
        new Prop("vector", Schema.Any("Its vector(s) (when asked for).")));

    public static JsonObject Points(JsonObject item, string description) => Schema.OpenObject(
        description,
        new Prop("points", Schema.ArrayOf(item, "The points."), Required: true));

    /// <summary>The result of a write (REST: <c>{"operation_id", "status"}</c>).</summary>
    public static JsonObject UpdateResult(string description, params Prop[] more) => Schema.OpenObject(
        description,
        [
            new Prop("operation_id", Schema.Integer("The write's sequence number in the collection's log.", minimum: 0), Required: true),
            new Prop("status", Schema.Enum("completed: durable; acknowledged: logged, not yet fsynced (wait=false).", null, "completed", "acknowledged"), Required: true),
            .. more,
        ]);
}
