using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// Payload indexes: created and dropped through the config (persisted atomically with it), rebuilt from the
/// payloads on open, kept current by every write, and used by the planner to find the few points a selective
/// filter can match without scanning the collection.
/// </summary>
public sealed partial class Collection
{
    /// <summary>Creates or replaces the index of <paramref name="field"/> (a payload key, nested keys allowed).</summary>
    public UpdateResult CreatePayloadIndex(string field, PayloadFieldSchema schema)
    {
        if (!JsonPath.TryParse(field, out _, out var error))
        {
            throw VectorizerException.BadRequest($"Bad field_name `{field}`: {error}");
        }

        if (schema.Type == PayloadSchemaType.Text)
        {
            TextTokenizer.Parse(schema.Params); // validates the parameters before they are persisted
        }

        ChangePayloadSchema(field, schema);
        return new UpdateResult(wal.LastLsn, UpdateStatus.Completed);
    }

    /// <summary>Drops the index of <paramref name="field"/>; dropping one that does not exist is not an error (as in Qdrant).</summary>
    public UpdateResult DeletePayloadIndex(string field)
    {
        ChangePayloadSchema(field, null);
        return new UpdateResult(wal.LastLsn, UpdateStatus.Completed);
    }

    private void ChangePayloadSchema(string field, PayloadFieldSchema? schema)
    {
        rw.EnterWriteLock();
        try
        {
            var fields = new Dictionary<string, PayloadFieldSchema>(Config.PayloadSchema, StringComparer.Ordinal);
            if (schema is null)
            {
                fields.Remove(field);
            }
            else
            {
                fields[field] = schema;
            }

            var updated = Config with { PayloadSchema = fields };
            FileUtil.WriteAtomic(Paths.ConfigFile, CollectionConfigJson.ToUtf8(updated));
            Config = updated;
            SyncPayloadIndexes(State);
        }
        finally
        {
            rw.ExitWriteLock();
        }
    }

    /// <summary>Makes <paramref name="target"/>'s indexes match the config. Caller holds the write lock.</summary>
    private void SyncPayloadIndexes(SegmentState target)
    {
        foreach (var field in target.PayloadIndexes.Keys.ToList())
        {
            if (!Config.PayloadSchema.ContainsKey(field))
            {
                target.RemovePayloadIndex(field);
            }
        }

        foreach (var (field, schema) in Config.PayloadSchema)
        {
            if (!target.PayloadIndexes.TryGetValue(field, out var existing) || existing.Schema != schema)
            {
                target.AddPayloadIndex(field, schema);
            }
        }
    }

    /// <summary>
    /// The offsets a filter can match according to the payload indexes: the smallest candidate list among the
    /// filter's <c>must</c> conditions on indexed fields, sorted and deduplicated. A superset (every candidate is
    /// still checked against the whole filter). Null when no <c>must</c> condition is answered by an index.
    /// </summary>
    internal static int[]? IndexedCandidates(SegmentState current, Filter? filter)
    {
        if (filter?.Must is not { Count: > 0 } must || current.PayloadIndexes.Count == 0)
        {
            return null;
        }

        List<int>? best = null;
        foreach (var condition in must)
        {
            if (condition is FieldCondition field && current.PayloadIndexes.TryGetValue(field.Key.Text, out var index) &&
                index.Candidates(field) is { } candidates && (best is null || candidates.Count < best.Count))
            {
                best = candidates;
            }
        }

        if (best is null)
        {
            return null;
        }

        var sorted = best.ToArray();
        Array.Sort(sorted);
        var unique = 0;
        for (var i = 0; i < sorted.Length; i++)
        {
            if (i == 0 || sorted[i] != sorted[i - 1])
            {
                sorted[unique++] = sorted[i];
            }
        }

        return sorted[..unique];
    }
}
