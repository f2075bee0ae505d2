using System.Text.Json;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Payload;

namespace Vectorizer.Engine.Collections.Queries;

/// <summary>
/// Value counts of an indexed payload field (<see cref="FacetRequest"/>). As in Qdrant, the field needs a
/// <c>keyword</c>, <c>integer</c>, <c>bool</c> or <c>uuid</c> index, and only values of the index's type count; a point
/// counts once per distinct value (an array of values counts for each). The points are those the filter's payload-index
/// candidates name, else every live point. Caller holds the collection's read lock.
/// </summary>
internal static class Facets
{
    public static List<FacetHit> Count(CollectionState current, IReadOnlyDictionary<string, PayloadFieldSchema> schema, FacetRequest request)
    {
        if (request.Limit < 1)
        {
            throw VectorizerException.Validation($"limit: value {request.Limit} invalid, must be 1 or larger");
        }

        if (!schema.TryGetValue(request.Key.Text, out var field) || field.Type is not (PayloadSchemaType.Keyword or PayloadSchemaType.Integer or PayloadSchemaType.Bool or PayloadSchemaType.Uuid))
        {
            throw VectorizerException.BadRequest(
                $"Index required but not found for \"{request.Key.Text}\" of one of the following types: [keyword, integer, bool, uuid]. Help: Create an index for this key or use a different filter.");
        }

        var counts = new Dictionary<FacetValue, long>();
        var values = new List<JsonElement>();
        var seen = new HashSet<FacetValue>();
        var filter = request.Filter is { IsEmpty: false } f ? f : null;
        var candidates = current.IndexedCandidates(filter);
        var total = candidates?.Length ?? current.Count;
        for (var i = 0; i < total; i++)
        {
            var offset = candidates is null ? i : candidates[i];
            if (!current.IsLive(offset) || (filter is not null && !FilterEvaluator.Matches(filter, current, offset)))
            {
                continue;
            }

            values.Clear();
            seen.Clear();
            request.Key.CollectValues(current.PayloadOf(offset), values);
            foreach (var value in values)
            {
                if (value.ValueKind == JsonValueKind.Array)
                {
                    foreach (var item in value.EnumerateArray())
                    {
                        Add(field.Type, item, seen);
                    }
                }
                else
                {
                    Add(field.Type, value, seen);
                }
            }

            foreach (var value in seen)
            {
                counts[value] = counts.GetValueOrDefault(value) + 1;
            }
        }

        var hits = new List<FacetHit>(counts.Count);
        foreach (var (value, count) in counts)
        {
            hits.Add(new FacetHit(value, count));
        }

        hits.Sort(static (a, b) => a.Count != b.Count ? b.Count.CompareTo(a.Count) : a.Value.CompareTo(b.Value));
        return hits.Count > request.Limit ? hits[..request.Limit] : hits;
    }

    private static void Add(PayloadSchemaType type, JsonElement value, HashSet<FacetValue> seen)
    {
        switch (type)
        {
            case PayloadSchemaType.Keyword when value.ValueKind == JsonValueKind.String:
                seen.Add(FacetValue.Of(value.GetString()!));
                break;
            case PayloadSchemaType.Uuid when value.ValueKind == JsonValueKind.String && Guid.TryParse(value.GetString(), out var uuid):
                seen.Add(FacetValue.Of(uuid.ToString("D")));
                break;
            case PayloadSchemaType.Integer when value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var integer):
                seen.Add(FacetValue.Of(integer));
                break;
            case PayloadSchemaType.Bool when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                seen.Add(FacetValue.Of(value.GetBoolean()));
                break;
        }
    }
}
