using System.Text.Json.Nodes;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Mcp;

/// <summary>Collections and aliases (REST: <c>/collections</c>, <c>/aliases</c>), through <see cref="CollectionsService"/>.</summary>
internal static class CollectionTools
{
    public static IEnumerable<McpTool> All =>
    [
        new(
            "list_collections",
            "List collections",
            "List the collections this credential can see, with their point counts and status (green: ready; yellow: indexing; failed: could not be opened).",
            ToolEffect.Read,
            Schema.Object(),
            Schema.Object(null, closed: false, new Prop("collections", Schema.ArrayOf(
                Schema.Object(
                    "A collection.",
                    closed: false,
                    new Prop("name", Schema.String("Its name."), Required: true),
                    new Prop("status", Schema.Enum("green, yellow (indexing), grey, red, or failed (could not be opened).", null, "green", "yellow", "grey", "red", "failed"), Required: true),
                    new Prop("points_count", Schema.Integer("Points stored.", minimum: 0), Required: true)),
                "Collections, sorted by name."), Required: true)),
            ListCollections),
        new(
            "get_collection",
            "Describe a collection",
            "A collection's configuration (vectors, distance, HNSW, quantization), counts (points, indexed vectors), payload indexes and storage (bytes in RAM and on disk), as GET /collections/{name} answers it, plus its `embedding` section (the embedders `add_documents` and `search_text` use) when it has one.",
            ToolEffect.Read,
            Schema.Object(Schemas.Collection),
            Schema.OpenObject(
                "Collection info (Qdrant's CollectionInfo plus `storage` and `embedding`).",
                new Prop("status", Schema.String("green, yellow (indexing), grey or red."), Required: true),
                new Prop("points_count", Schema.Integer("Points stored.", minimum: 0), Required: true),
                new Prop("indexed_vectors_count", Schema.Integer("Vectors in the HNSW graphs.", minimum: 0), Required: true),
                new Prop("config", Schema.FreeObject("params (vectors, sparse_vectors, ...), hnsw_config, optimizer_config, wal_config, quantization_config."), Required: true),
                new Prop("payload_schema", Schema.FreeObject("Payload indexes: field → {data_type, points}."), Required: true),
                new Prop("storage", Schema.FreeObject("Bytes per vector in RAM and on disk, payload bytes, files on disk.")),
                new Prop("embedding", Schema.Nullable(Schema.FreeObject("The collection's embedders (dense and/or sparse), null when it has none.")))),
            GetCollection),
        new(
            "create_collection",
            "Create a collection",
            "Create a collection, with the body of Qdrant's PUT /collections/{name}: `vectors` (one unnamed vector {size, distance} or named vectors {name: {size, distance}}), "
            + "`sparse_vectors`, `hnsw_config`, `quantization_config`, `on_disk_payload`; and our `embedding` section for text collections (`add_documents`, `search_text`): "
            + "{\"dense\": {\"provider\": \"hash\", \"dimension\": 384}, \"sparse\": {\"provider\": \"bm25\"}} creates the vectors it needs. Fails if the name exists.",
            ToolEffect.Write,
            Schema.Object(
                new Prop("collection", Schema.String("Name of the new collection: letters, digits, `-`, `_`, `.`; at most 255 characters.", "docs"), Required: true),
                new Prop("vectors", Schema.FreeObject(
                    "Dense vectors: {\"size\": 1..65536, \"distance\": \"Cosine\" | \"Dot\" | \"Euclid\" | \"Manhattan\", \"on_disk\"?: bool, \"hnsw_config\"?, \"quantization_config\"?}, or an object of such by name. Optional with `embedding` or `sparse_vectors`.",
                    """{"size": 4, "distance": "Cosine"}""",
                    """{"image": {"size": 512, "distance": "Dot"}, "text": {"size": 384, "distance": "Cosine"}}""")),
                new Prop("sparse_vectors", Schema.FreeObject("Sparse vectors by name: {\"name\": {\"modifier\"?: \"idf\" | \"none\"}}.", """{"keywords": {"modifier": "idf"}}""")),
                new Prop("hnsw_config", Schema.FreeObject("HNSW parameters: m, ef_construct, full_scan_threshold, on_disk.", """{"m": 16, "ef_construct": 100}""")),
                new Prop("quantization_config", Schema.FreeObject(
                    "Quantization: {\"scalar\": {\"type\": \"int8\", \"quantile\"?, \"always_ram\"?}}, {\"binary\": {}} or {\"product\": {\"compression\": \"x4\"..\"x64\"}}.",
                    """{"scalar": {"type": "int8", "quantile": 0.99}}""")),
                new Prop("on_disk_payload", Schema.Boolean("Keep payloads in memory-mapped files instead of RAM.", @default: false)),
                new Prop("optimizers_config", Schema.FreeObject("Qdrant's optimizer settings (accepted and reported; e.g. {\"indexing_threshold\": 20000}).")),
                new Prop("wal_config", Schema.FreeObject("Write-ahead log: {\"wal_capacity_mb\": 32, \"wal_segments_ahead\": 0}.")),
                new Prop("strict_mode_config", Schema.FreeObject("Strict mode: limits enforced on every request, e.g. {\"enabled\": true, \"max_query_limit\": 100, \"unindexed_filtering_retrieve\": false}.")),
                new Prop("embedding", Schema.FreeObject(
                    "Embedders for text ingestion: {\"dense\"?: {\"provider\": \"hash\", \"dimension\"?} | {\"provider\": \"openai\", \"base_url\", \"model\", ...}, \"sparse\"?: {\"provider\": \"bm25\"}}.",
                    """{"dense": {"provider": "hash", "dimension": 384}, "sparse": {"provider": "bm25"}}""")),
                new Prop("metadata", Schema.FreeObject("Free-form metadata stored with the collection."))),
            Schema.Object(
                null,
                closed: false,
                new Prop("collection", Schema.String("The collection created."), Required: true),
                new Prop("created", Schema.Boolean("True."), Required: true)),
            CreateCollection),
        new(
            "delete_collection",
            "Delete a collection",
            "Delete a collection and all its points, for good. `confirm` must repeat the collection's name. A name that is an alias deletes the collection it points to.",
            ToolEffect.Destructive,
            Schema.Object(
                Schemas.Collection,
                new Prop("confirm", Schema.String("The collection's name again, to confirm the deletion.", "docs"), Required: true)),
            Schema.Object(
                null,
                closed: false,
                new Prop("collection", Schema.String("The collection named."), Required: true),
                new Prop("deleted", Schema.Boolean("False when no such collection existed."), Required: true)),
            DeleteCollection),
        new(
            "list_aliases",
            "List aliases",
            "Aliases (alternative names, usable wherever a collection name is), all of them or those of one collection.",
            ToolEffect.Read,
            Schema.Object(new Prop("collection", Schema.String("Only this collection's aliases."))),
            Schema.Object(null, closed: false, new Prop("aliases", Schema.ArrayOf(
                Schema.Object(
                    "An alias.",
                    closed: false,
                    new Prop("alias_name", Schema.String("The alias."), Required: true),
                    new Prop("collection_name", Schema.String("The collection it names."), Required: true)),
                "Aliases."), Required: true)),
            ListAliases),
        new(
            "switch_alias",
            "Point an alias at a collection",
            "Create `alias` or move it to `collection` in one atomic step (the blue-green swap: build `docs_v2`, then switch `docs` to it; readers never see the alias missing).",
            ToolEffect.Write,
            Schema.Object(
                new Prop("alias", Schema.String("The alias to create or move.", "docs"), Required: true),
                new Prop("collection", Schema.String("The collection it should name.", "docs_v2"), Required: true)),
            Schema.Object(
                null,
                closed: false,
                new Prop("alias", Schema.String("The alias."), Required: true),
                new Prop("collection", Schema.String("The collection it names now."), Required: true),
                new Prop("previous_collection", Schema.Nullable(Schema.String("The collection it named before, null if it is new."))),
                new Prop("switched", Schema.Boolean("True."), Required: true)),
            SwitchAlias),
    ];

    private static Task<ToolOutput> ListCollections(ToolCall call)
    {
        var collections = call.Service<CollectionsService>();
        var items = new JsonArray();
        var lines = new List<string>();
        foreach (var name in collections.List(call.Call))
        {
            string status;
            long points = 0;
            try
            {
                var info = collections.GetInfo(call.Call, name);
                status = info.Status.ToString().ToLowerInvariant();
                points = info.PointsCount;
            }
            catch (VectorizerException e) when (e.Code == ErrorCode.CollectionFailed)
            {
                status = "failed";
            }
            catch (VectorizerException e) when (e.Code == ErrorCode.CollectionNotFound)
            {
                continue; // deleted meanwhile
            }

            items.Add(new JsonObject { ["name"] = name, ["status"] = status, ["points_count"] = points });
            lines.Add(status == "failed" ? $"{name} (failed)" : $"{name} ({points} points)");
        }

        var summary = lines.Count == 0 ? "No collections." : $"{lines.Count} collection{(lines.Count == 1 ? "" : "s")}: {string.Join(", ", lines)}";
        return Task.FromResult(new ToolOutput(new JsonObject { ["collections"] = items }, summary));
    }

    private static Task<ToolOutput> GetCollection(ToolCall call)
    {
        var target = call.Service<CollectionsService>().Resolve(call.Call, call.Collection, AccessLevel.Read);
        var info = target.GetInfo();
        var result = ToolOutput.Write(w => ResponseJson.CollectionInfo(w, info));
        result["embedding"] = target.Config.Embedding is { } embedding ? JsonNode.Parse(embedding.ToString()) : null;
        var vectors = string.Join(", ", target.Config.Vectors.Select(v => $"{(v.Key.Length == 0 ? "vector" : v.Key)} {v.Value.Size} {v.Value.Distance}"));
        var sparse = target.Config.SparseVectors.Count == 0 ? "" : $", sparse {string.Join(", ", target.Config.SparseVectors.Keys)}";
        return Task.FromResult(new ToolOutput(result,
            $"`{target.Name}`: {info.Status.ToString().ToLowerInvariant()}, {info.PointsCount} points, {info.IndexedVectorsCount} indexed vectors; {vectors}{sparse}"
            + (target.Config.Embedding is null ? "" : "; has embedders (text search)")));
    }

    private static Task<ToolOutput> CreateCollection(ToolCall call)
    {
        var collections = call.Service<CollectionsService>();
        var settings = call.Service<VectorizerSettings>();
        var name = call.Collection;
        var config = CollectionJson.ParseCreate(call.Body("collection"), collections.Manager.Options.HnswDefaults, settings.Limits.MaxVectorSize);
        collections.Create(call.Call, name, config);
        return Task.FromResult(new ToolOutput(new JsonObject { ["collection"] = name, ["created"] = true }, $"Created collection `{name}`."));
    }

    private static Task<ToolOutput> DeleteCollection(ToolCall call)
    {
        var name = call.Collection;
        var confirm = call.Args.Required("confirm");
        if (confirm.AsString() != name)
        {
            throw confirm.Invalid($"must repeat the collection's name (`{name}`) to delete it");
        }

        var deleted = call.Service<CollectionsService>().Delete(call.Call, name);
        return Task.FromResult(new ToolOutput(
            new JsonObject { ["collection"] = name, ["deleted"] = deleted },
            deleted ? $"Deleted collection `{name}`." : $"No collection `{name}`: nothing deleted."));
    }

    private static Task<ToolOutput> ListAliases(ToolCall call)
    {
        var collection = call.Args.TryGet("collection", out var c) ? c.AsString() : null;
        var aliases = call.Service<CollectionsService>().ListAliases(call.Call, collection);
        var items = new JsonArray([.. aliases.Select(a => (JsonNode)new JsonObject { ["alias_name"] = a.AliasName, ["collection_name"] = a.CollectionName })]);
        var summary = aliases.Count == 0 ? "No aliases." : string.Join(", ", aliases.Select(a => $"{a.AliasName} → {a.CollectionName}"));
        return Task.FromResult(new ToolOutput(new JsonObject { ["aliases"] = items }, summary));
    }

    private static Task<ToolOutput> SwitchAlias(ToolCall call)
    {
        var collections = call.Service<CollectionsService>();
        var alias = call.Args.Required("alias").AsString();
        var collection = call.Args.Required("collection").AsString();
        var previous = collections.Manager.ListAliases().FirstOrDefault(a => a.AliasName == alias)?.CollectionName;
        collections.UpdateAliases(call.Call, [new DeleteAlias(alias), new CreateAlias(collection, alias)]);
        return Task.FromResult(new ToolOutput(
            new JsonObject { ["alias"] = alias, ["collection"] = collection, ["previous_collection"] = previous, ["switched"] = true },
            previous is null ? $"Alias `{alias}` now names `{collection}` (new)." : $"Alias `{alias}` now names `{collection}` (was `{previous}`)."));
    }
}
