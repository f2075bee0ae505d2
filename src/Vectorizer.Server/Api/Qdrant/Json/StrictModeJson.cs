using System.Text.Json;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;

namespace Vectorizer.Server.Api.Qdrant.Json;

/// <summary>
/// Qdrant's <c>strict_mode_config</c> object ⇄ <see cref="StrictModeSettings"/>. Every limit it accepts is enforced
/// (<see cref="Application.StrictMode"/>); the limits of Qdrant's contract that this server does not enforce are
/// refused by name rather than stored and ignored.
/// </summary>
internal static class StrictModeJson
{
    /// <summary>Qdrant's strict-mode keys this server has no mechanism for (a value other than null is refused).</summary>
    private static readonly string[] NotEnforced =
    [
        "max_timeout", "read_rate_limit", "write_rate_limit", "max_collection_vector_size_bytes",
        "max_collection_payload_size_bytes", "multivector_config", "sparse_config", "max_resident_memory_percent",
    ];

    private static readonly string[] Enforced =
    [
        "enabled", "max_query_limit", "unindexed_filtering_retrieve", "unindexed_filtering_update", "search_max_hnsw_ef",
        "search_allow_exact", "search_max_oversampling", "upsert_max_batchsize", "search_max_batchsize",
        "max_points_count", "filter_max_conditions", "condition_max_size", "max_payload_index_count",
    ];

    public static StrictModeSettings Parse(JsonInput input)
    {
        input.ExpectObject();
        input.DenyUnknown([.. Enforced, .. NotEnforced]);
        foreach (var name in NotEnforced)
        {
            if (input.TryGet(name, out var value))
            {
                throw VectorizerException.BadRequest(
                    $"{value.Path}: this limit is not enforced by Vectorizer, so it is refused rather than stored; " +
                    $"the enforced strict-mode limits are {string.Join(", ", Enforced.Skip(1))}");
            }
        }

        return new StrictModeSettings
        {
            Enabled = Bool(input, "enabled"),
            MaxQueryLimit = Count(input, "max_query_limit", min: 1),
            UnindexedFilteringRetrieve = Bool(input, "unindexed_filtering_retrieve"),
            UnindexedFilteringUpdate = Bool(input, "unindexed_filtering_update"),
            SearchMaxHnswEf = Count(input, "search_max_hnsw_ef", min: 0),
            SearchAllowExact = Bool(input, "search_allow_exact"),
            SearchMaxOversampling = input.TryGet("search_max_oversampling", out var oversampling) ? NonNegative(oversampling) : null,
            UpsertMaxBatchsize = Count(input, "upsert_max_batchsize", min: 0),
            SearchMaxBatchsize = Count(input, "search_max_batchsize", min: 0),
            MaxPointsCount = Count(input, "max_points_count", min: 1),
            FilterMaxConditions = Count(input, "filter_max_conditions", min: 0),
            ConditionMaxSize = Count(input, "condition_max_size", min: 0),
            MaxPayloadIndexCount = Count(input, "max_payload_index_count", min: 0),
        };
    }

    public static void Write(Utf8JsonWriter writer, StrictModeSettings strict)
    {
        writer.WriteStartObject();
        Write(writer, "enabled", strict.Enabled);
        Write(writer, "max_query_limit", strict.MaxQueryLimit);
        Write(writer, "unindexed_filtering_retrieve", strict.UnindexedFilteringRetrieve);
        Write(writer, "unindexed_filtering_update", strict.UnindexedFilteringUpdate);
        Write(writer, "search_max_hnsw_ef", strict.SearchMaxHnswEf);
        Write(writer, "search_allow_exact", strict.SearchAllowExact);
        if (strict.SearchMaxOversampling is { } oversampling)
        {
            writer.WriteNumber("search_max_oversampling", oversampling);
        }

        Write(writer, "upsert_max_batchsize", strict.UpsertMaxBatchsize);
        Write(writer, "search_max_batchsize", strict.SearchMaxBatchsize);
        Write(writer, "max_points_count", strict.MaxPointsCount);
        Write(writer, "filter_max_conditions", strict.FilterMaxConditions);
        Write(writer, "condition_max_size", strict.ConditionMaxSize);
        Write(writer, "max_payload_index_count", strict.MaxPayloadIndexCount);
        writer.WriteEndObject();
    }

    private static bool? Bool(JsonInput input, string name) => input.TryGet(name, out var value) ? value.AsBool() : null;

    private static long? Count(JsonInput input, string name, long min)
    {
        if (!input.TryGet(name, out var value))
        {
            return null;
        }

        var count = value.AsLong();
        return count >= min ? count : throw value.Invalid($"must be {min} or more, got {count}");
    }

    private static double NonNegative(JsonInput value)
    {
        var number = value.AsDouble();
        return number >= 0 ? number : throw value.Invalid($"must be 0 or more, got {number}");
    }

    private static void Write(Utf8JsonWriter writer, string name, bool? value)
    {
        if (value is { } v)
        {
            writer.WriteBoolean(name, v);
        }
    }

    private static void Write(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
    }
}
