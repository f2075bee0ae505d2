using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;

namespace Vectorizer.Engine.Tests;

/// <summary>
/// Random payloads and random filters (must / should / must_not / min_should, match value / any / except, range,
/// values_count, is_empty, is_null, has_id, nested filters and <c>nested</c> over arrays of objects, keys <c>a.b</c>,
/// <c>a[].b</c>, <c>a[0].b</c>) checked three ways against <see cref="Reference"/>, a plain evaluator of Qdrant's
/// semantics written over the JSON: <see cref="FilterEvaluator"/> point by point, a collection's count, scroll and
/// delete-by-filter without payload indexes, and the same with payload indexes (created before the data, with
/// payloads overwritten and points deleted afterwards, so the indexes hold stale entries). CsCheck shrinks a failure
/// and prints the seed to replay it (<c>Sample(..., seed: "...")</c>).
/// </summary>
public sealed class FilterPropertyTests : IDisposable
{
    private const int Points = 24;
    private const int FiltersPerSample = 12;

    private static readonly string[] Keywords = ["a", "b", "c"];
    private static readonly string[] Keys = ["k", "n", "b", "obj.x", "obj.y", "arr[].x", "arr[].y", "arr[0].x", "arr", "missing"];

    /// <summary>Keys that reach at most one value, where values_count means the same whether counts add up or not.</summary>
    private static readonly string[] SingleValuedKeys = ["k", "n", "b", "obj.x", "obj", "arr", "arr[0].x"];

    private static readonly string[] NestedKeys = ["x", "y"];

    private static readonly (string Field, PayloadSchemaType Type)[] Indexes =
    [
        ("k", PayloadSchemaType.Keyword), ("n", PayloadSchemaType.Integer), ("b", PayloadSchemaType.Bool),
        ("obj.x", PayloadSchemaType.Float), ("arr[].x", PayloadSchemaType.Keyword), ("obj.y", PayloadSchemaType.Integer),
    ];

    private readonly TempDirectory dir = new();
    private readonly CollectionManager manager;

    public FilterPropertyTests()
    {
        manager = TestData.Open(dir.Path);
    }

    public void Dispose()
    {
        manager.Dispose();
        dir.Dispose();
    }

    // ------------------------------------------------------------------ generators

    private static readonly Gen<JsonNode?> Scalar = Gen.Frequency(
        (4, Gen.OneOf(Keywords).Select(s => (JsonNode?)JsonValue.Create(s))),
        (4, Gen.Int[-2, 2].Select(i => (JsonNode?)JsonValue.Create(i))),
        (2, Gen.OneOf(-1.5, 0.5, 2.5).Select(d => (JsonNode?)JsonValue.Create(d))),
        (2, Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b))),
        (1, Gen.Const((JsonNode?)null)));

    /// <summary>A field's value: a scalar, an array of scalars (maybe empty, maybe with nulls), or (rarely) nested arrays.</summary>
    private static readonly Gen<JsonNode?> Value = Gen.Frequency(
        (5, Scalar),
        (3, Scalar.Array[0, 3].Select(items => (JsonNode?)new JsonArray(items))),
        (1, Scalar.Array[1, 2].Select(items => (JsonNode?)new JsonArray(new JsonArray(items)))));

    private static readonly Gen<JsonNode?> Object = Gen.Select(Gen.Bool, Value, Gen.Bool, Value, (hasX, x, hasY, y) =>
    {
        var node = new JsonObject();
        if (hasX)
        {
            node["x"] = x;
        }

        if (hasY)
        {
            node["y"] = y;
        }

        return (JsonNode?)node;
    });

    private static readonly Gen<JsonNode?> ObjectOrValue = Gen.Frequency((4, Object), (1, Value));

    private static readonly Gen<JsonNode?> ArrayOfObjects = Gen.Frequency(
        (5, ObjectOrValue.Array[0, 3].Select(items => (JsonNode?)new JsonArray(items))),
        (1, Object));

    /// <summary>A payload: each top-level key missing (a quarter of the time) or present with any value, JSON null included.</summary>
    private static readonly Gen<string> Payload = Gen.Select(
        Gen.Int[0, 3].Array[5, 5], Value, Value, Value, ObjectOrValue, ArrayOfObjects,
        (presence, k, n, b, obj, arr) =>
        {
            var root = new JsonObject();
            var fields = new (string Key, JsonNode? Value)[] { ("k", k), ("n", n), ("b", b), ("obj", obj), ("arr", arr) };
            for (var i = 0; i < fields.Length; i++)
            {
                if (presence[i] > 0)
                {
                    root[fields[i].Key] = fields[i].Value?.DeepClone();
                }
            }

            return root.ToJsonString();
        });

    private static readonly Gen<double?> Bound = Gen.OneOf<double?>(null, null, -2, -1.5, -1, 0, 0.5, 1, 2, 2.5);

    private static Gen<Condition> FieldConditions(string[] keys, string[] singleValued) => Gen.Frequency(
        (3, Gen.Select(Gen.OneOf(keys), Gen.Frequency(
            (3, Gen.OneOf("a", "b", "c", "z").Select(s => MatchValue.Of(s))),
            (3, Gen.Int[-2, 2].Select(i => MatchValue.Of((long)i))),
            (1, Gen.Bool.Select(b => MatchValue.Of(b)))), (key, value) =>
            (Condition)new FieldCondition(JsonPath.Parse(key)) { Match = new MatchCondition { Kind = MatchKind.Value, Value = value } })),
        (3, Gen.Select(Gen.OneOf(keys), Gen.OneOf(MatchKind.Any, MatchKind.Except), Gen.Bool, Gen.OneOf("a", "b", "c", "z").Array[1, 3], Gen.Int[-2, 2].Array[1, 3],
            (key, kind, strings, keywords, integers) => (Condition)new FieldCondition(JsonPath.Parse(key))
            {
                Match = strings
                    ? new MatchCondition { Kind = kind, Keywords = [.. keywords] }
                    : new MatchCondition { Kind = kind, Integers = [.. integers.Select(i => (long)i)] },
            })),
        (3, Gen.Select(Gen.OneOf(keys), Bound, Bound, Bound, Bound, (key, gt, gte, lt, lte) =>
            (Condition)new FieldCondition(JsonPath.Parse(key)) { Range = new NumericRange(gt, gte, lt, lte) })),
        (2, Gen.Select(Gen.OneOf(singleValued), Gen.OneOf<long?>(null, 0, 1, 2, 3).Array[4, 4], (key, b) =>
            (Condition)new FieldCondition(JsonPath.Parse(key)) { ValuesCount = new CountRange(b[0], b[1], b[2], b[3]) })),
        (1, Gen.OneOf(keys).Select(key => (Condition)new IsEmptyCondition(JsonPath.Parse(key)))),
        (1, Gen.OneOf(keys).Select(key => (Condition)new IsNullCondition(JsonPath.Parse(key)))));

    private static readonly Gen<Condition> TopLeaf = Gen.Frequency(
        (12, FieldConditions(Keys, SingleValuedKeys)),
        (1, Gen.Int[1, Points].Array[1, 4].Select(ids => (Condition)new HasIdCondition([.. ids.Select(i => PointId.FromNumber((ulong)i))]))));

    private static readonly Gen<Condition> NestedLeaf = FieldConditions(NestedKeys, NestedKeys);

    private static Gen<Filter> Filters(Gen<Condition> leaf, int depth, bool allowNested)
    {
        var condition = depth == 0 ? leaf
            : allowNested ? Gen.Frequency(
                (6, leaf),
                (1, Filters(leaf, depth - 1, allowNested).Select(f => (Condition)new FilterCondition(f))),
                (1, Gen.Select(Gen.OneOf("arr", "arr[]"), Filters(NestedLeaf, depth - 1, false), (key, f) => (Condition)new NestedCondition(JsonPath.Parse(key), f))))
            : Gen.Frequency(
                (6, leaf),
                (1, Filters(leaf, depth - 1, allowNested).Select(f => (Condition)new FilterCondition(f))));
        var list = condition.Array[0, 3].Select(items => items.Length == 0 ? null : (IReadOnlyList<Condition>)items);
        var minShould = Gen.Frequency(
            (4, Gen.Const((MinShould?)null)),
            (1, Gen.Select(condition.Array[1, 3], Gen.Int[1, 2], (items, min) => (MinShould?)new MinShould(items, min))));
        return Gen.Select(list, list, list, minShould, (must, should, mustNot, min) => new Filter { Must = must, Should = should, MustNot = mustNot, MinShould = min });
    }

    private sealed record Case(string[] Payloads, string[] Rewrites, bool[] Deleted, Filter[] Filters, Filter DeleteFilter);

    private static readonly Gen<Case> Cases = Gen.Select(
        Payload.Array[Points, Points], Payload.Array[Points, Points], Gen.Int[0, 5].Array[Points, Points], Filters(TopLeaf, 2, true).Array[FiltersPerSample, FiltersPerSample], Filters(TopLeaf, 1, true),
        (payloads, rewrites, fate, filters, deleteFilter) => new Case(
            payloads,
            [.. rewrites.Select((p, i) => fate[i] == 1 ? p : "")], // a sixth get a new payload after indexing
            [.. fate.Select(f => f == 0)], // a sixth are deleted
            filters,
            deleteFilter));

    // ------------------------------------------------------------------ the property

    /// <summary>30 samples (360 filters) by default, about 4 s; .ci/run sets <c>VECTORIZER_PROPERTY_ITERATIONS=400</c> to hunt longer.</summary>
    [Fact]
    public void EvaluatorAndCollectionsWithAndWithoutIndexesAgreeWithTheReference() =>
        Cases.Sample(Check, iter: Iterations(30), print: Describe);

    internal static long Iterations(long fallback) =>
        long.TryParse(Environment.GetEnvironmentVariable("VECTORIZER_PROPERTY_ITERATIONS"), CultureInfo.InvariantCulture, out var iterations) ? iterations : fallback;

    private void Check(Case sample)
    {
        var plain = manager.Create("p" + Guid.NewGuid().ToString("N"), TestData.Config(2));
        var indexed = manager.Create("i" + Guid.NewGuid().ToString("N"), TestData.Config(2));
        try
        {
            foreach (var (field, type) in Indexes)
            {
                indexed.CreatePayloadIndex(field, new PayloadFieldSchema(type));
            }

            var payloads = sample.Payloads.ToArray();
            var live = Enumerable.Range(0, Points).ToList();
            foreach (var collection in (Collection[])[plain, indexed])
            {
                Update(collection, new UpsertOperation([.. live.Select(i => TestData.Point((ulong)i + 1, [i, 1], payloads[i]))]));
                // Half the new payloads come with a new version of the point (a new offset), half are written over
                // the old one in place (the indexes then keep stale postings for that offset).
                var rewritten = live.Where(i => sample.Rewrites[i].Length > 0).ToList();
                Update(collection, new UpsertOperation([.. rewritten.Where(i => i % 2 == 0).Select(i => TestData.Point((ulong)i + 1, [i, 2], sample.Rewrites[i]))]));
                foreach (var i in rewritten.Where(i => i % 2 == 1))
                {
                    Update(collection, new OverwritePayloadOperation(PointPayload.FromUtf8(Encoding.UTF8.GetBytes(sample.Rewrites[i])), PointSelector.ForIds([PointId.FromNumber((ulong)i + 1)])));
                }

                Update(collection, new DeletePointsOperation(PointSelector.ForIds([.. live.Where(i => sample.Deleted[i]).Select(i => PointId.FromNumber((ulong)i + 1))])));
            }

            for (var i = 0; i < Points; i++)
            {
                payloads[i] = sample.Rewrites[i].Length > 0 ? sample.Rewrites[i] : payloads[i];
            }

            live.RemoveAll(i => sample.Deleted[i]);
            var documents = payloads.Select(p => JsonDocument.Parse(p)).ToArray();
            try
            {
                var facts = new Facts(documents);
                foreach (var filter in sample.Filters)
                {
                    var expected = live.Where(i => Reference.Matches(filter, (ulong)i + 1, documents[i].RootElement)).Select(i => (ulong)i + 1).ToList();
                    var evaluated = live.Where(i => FilterEvaluator.Matches(filter, facts, i)).Select(i => (ulong)i + 1).ToList();
                    Assert.True(expected.SequenceEqual(evaluated), $"FilterEvaluator: expected [{string.Join(",", expected)}], got [{string.Join(",", evaluated)}]\nfilter: {Describe(filter)}");
                    foreach (var (name, collection) in (ReadOnlySpan<(string, Collection)>)[("plain", plain), ("indexed", indexed)])
                    {
                        Assert.True(expected.Count == collection.Count(filter), $"{name} count: expected {expected.Count}, got {collection.Count(filter)}\nfilter: {Describe(filter)}");
                        var scrolled = collection.Scroll(new ScrollRequest { Filter = filter, Limit = Points + 1 }).Points.Select(p => p.Id.Number).ToList();
                        Assert.True(expected.SequenceEqual(scrolled), $"{name} scroll: expected [{string.Join(",", expected)}], got [{string.Join(",", scrolled)}]\nfilter: {Describe(filter)}");

                        // A search returns every match when asked for more: through the indexes' exact matches (no
                        // payload check) where they answer the filter exactly, else with each candidate checked.
                        var found = collection.Query(new QueryRequest { Query = new DenseVectorQuery([0.5f, 0.5f]), Filter = filter, Limit = Points + 1 }).Select(p => p.Id.Number).Order().ToList();
                        Assert.True(expected.SequenceEqual(found), $"{name} search: expected [{string.Join(",", expected)}], got [{string.Join(",", found)}]\nfilter: {Describe(filter)}");
                    }
                }

                // Delete by filter: exactly the matching points go, from both collections.
                var doomed = live.Where(i => Reference.Matches(sample.DeleteFilter, (ulong)i + 1, documents[i].RootElement)).ToHashSet();
                var survivors = live.Where(i => !doomed.Contains(i)).Select(i => (ulong)i + 1).ToList();
                foreach (var (name, collection) in (ReadOnlySpan<(string, Collection)>)[("plain", plain), ("indexed", indexed)])
                {
                    Update(collection, new DeletePointsOperation(PointSelector.ForFilter(sample.DeleteFilter)));
                    var left = collection.Scroll(new ScrollRequest { Limit = Points + 1 }).Points.Select(p => p.Id.Number).ToList();
                    Assert.True(survivors.SequenceEqual(left), $"{name} delete by filter left [{string.Join(",", left)}], expected [{string.Join(",", survivors)}]\nfilter: {Describe(sample.DeleteFilter)}");
                }
            }
            finally
            {
                foreach (var document in documents)
                {
                    document.Dispose();
                }
            }
        }
        finally
        {
            manager.Delete(plain.Name);
            manager.Delete(indexed.Name);
        }
    }

    private static void Update(Collection collection, UpdateOperation operation) =>
        collection.UpdateAsync(operation, wait: true).AsTask().GetAwaiter().GetResult();

    private sealed class Facts(JsonDocument[] documents) : IPointFacts
    {
        public PointId IdOf(int offset) => PointId.FromNumber((ulong)offset + 1);

        public JsonElement PayloadOf(int offset) => documents[offset].RootElement;

        public bool HasVector(int offset, string vectorName) => true;
    }

    // ------------------------------------------------------------------ the reference

    /// <summary>
    /// Qdrant's filter semantics, written plainly (lib/segment: query_checker.rs, condition_checker.rs, json_path):
    /// a key reaches values (keys descend into objects, <c>[]</c> into every array element, <c>[i]</c> into one); a
    /// reached array counts as its elements (one level) for match and range; nothing reached fails match and range.
    /// Where Qdrant leaves a choice, the engine's documented one: an empty <c>should</c> is no constraint.
    /// </summary>
    private static class Reference
    {
        public static bool Matches(Filter filter, ulong id, JsonElement root) =>
            (filter.Must ?? []).All(c => Holds(c, id, root))
            && !(filter.MustNot ?? []).Any(c => Holds(c, id, root))
            && (filter.Should is not { Count: > 0 } should || should.Any(c => Holds(c, id, root)))
            && (filter.MinShould is not { } min || min.Conditions.Count(c => Holds(c, id, root)) >= min.MinCount);

        private static bool Holds(Condition condition, ulong id, JsonElement root) => condition switch
        {
            FilterCondition f => Matches(f.Filter, id, root),
            HasIdCondition h => h.Ids.Contains(PointId.FromNumber(id)),
            IsEmptyCondition e => Reach(root, e.Key.Text).All(v => v.ValueKind == JsonValueKind.Null || (v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 0)),
            IsNullCondition n => Reach(root, n.Key.Text).Any(v => v.ValueKind == JsonValueKind.Null),
            NestedCondition n => Reach(root, n.Key.Text.EndsWith("[]", StringComparison.Ordinal) ? n.Key.Text : n.Key.Text + "[]")
                .Any(element => element.ValueKind == JsonValueKind.Object && Matches(n.Filter, id, element)),
            FieldCondition f => Field(f, root),
            _ => throw new InvalidOperationException(condition.GetType().Name),
        };

        private static bool Field(FieldCondition field, JsonElement root)
        {
            var values = Reach(root, field.Key.Text);
            if (field.ValuesCount is { } count)
            {
                return count.Contains(values.Count == 0 ? 0 : values[0].ValueKind switch
                {
                    JsonValueKind.Array => values[0].GetArrayLength(),
                    JsonValueKind.Null => 0,
                    _ => 1,
                });
            }

            var candidates = values.SelectMany(v => v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().ToList() : [v]);
            if (field.Match is { } match)
            {
                return candidates.Any(v => Match(match, v));
            }

            if (field.Range is { } range)
            {
                return candidates.Any(v => v.ValueKind == JsonValueKind.Number && range.Contains(v.GetDouble()));
            }

            throw new InvalidOperationException("unexpected field condition");
        }

        private static bool Match(MatchCondition match, JsonElement v)
        {
            long? integer = v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var i) ? i : null;
            string? text = v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            switch (match.Kind)
            {
                case MatchKind.Value:
                    return (text is not null && text == match.Value.Keyword)
                        || (integer is not null && integer == match.Value.Integer)
                        || (v.ValueKind is JsonValueKind.True or JsonValueKind.False && v.GetBoolean() == match.Value.Boolean);
                case MatchKind.Any:
                    return (text is not null && match.Keywords is { } anyOf && anyOf.Contains(text))
                        || (integer is { } n && match.Integers is { } anyInt && anyInt.Contains(n));
                case MatchKind.Except:
                    if (v.ValueKind == JsonValueKind.Null)
                    {
                        return false;
                    }

                    if (text is not null && match.Keywords is { } notOf)
                    {
                        return !notOf.Contains(text);
                    }

                    if (v.ValueKind == JsonValueKind.Number && match.Integers is { } notInt)
                    {
                        return integer is not { } m || !notInt.Contains(m);
                    }

                    return true; // another type than the list's: not in it
                default:
                    throw new InvalidOperationException(match.Kind.ToString());
            }
        }

        /// <summary>The values a key reaches: <c>a.b</c>, <c>a[]</c>, <c>a[0]</c>, combined.</summary>
        private static List<JsonElement> Reach(JsonElement root, string key)
        {
            var current = new List<JsonElement> { root };
            foreach (var part in key.Split('.'))
            {
                var name = part;
                var suffixes = new List<string>();
                while (name.EndsWith(']'))
                {
                    var open = name.LastIndexOf('[');
                    suffixes.Insert(0, name[(open + 1)..^1]);
                    name = name[..open];
                }

                var next = new List<JsonElement>();
                foreach (var value in current)
                {
                    if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty(name, out var child))
                    {
                        next.Add(child);
                    }
                }

                foreach (var suffix in suffixes)
                {
                    var expanded = new List<JsonElement>();
                    foreach (var value in next.Where(v => v.ValueKind == JsonValueKind.Array))
                    {
                        if (suffix.Length == 0)
                        {
                            expanded.AddRange(value.EnumerateArray());
                        }
                        else if (int.Parse(suffix, CultureInfo.InvariantCulture) < value.GetArrayLength())
                        {
                            expanded.Add(value[int.Parse(suffix, CultureInfo.InvariantCulture)]);
                        }
                    }

                    next = expanded;
                }

                current = next;
            }

            return current;
        }
    }

    // ------------------------------------------------------------------ printing

    private static string Describe(Case sample)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < Points; i++)
        {
            builder.Append(i + 1).Append(sample.Deleted[i] ? " (deleted) " : " ").Append(sample.Payloads[i])
                .Append(sample.Rewrites[i].Length > 0 ? " -> " + sample.Rewrites[i] : "").Append('\n');
        }

        foreach (var filter in sample.Filters)
        {
            builder.Append("filter ").Append(Describe(filter)).Append('\n');
        }

        return builder.Append("delete ").Append(Describe(sample.DeleteFilter)).ToString();
    }

    private static string Describe(Filter filter)
    {
        var parts = new List<string>();
        void Add(string name, IEnumerable<Condition>? conditions)
        {
            if (conditions is not null)
            {
                parts.Add($"\"{name}\": [{string.Join(", ", conditions.Select(Describe))}]");
            }
        }

        Add("must", filter.Must);
        Add("should", filter.Should);
        Add("must_not", filter.MustNot);
        if (filter.MinShould is { } min)
        {
            parts.Add($"\"min_should\": {{\"conditions\": [{string.Join(", ", min.Conditions.Select(Describe))}], \"min_count\": {min.MinCount}}}");
        }

        return "{" + string.Join(", ", parts) + "}";
    }

    private static string Describe(Condition condition) => condition switch
    {
        FilterCondition f => Describe(f.Filter),
        HasIdCondition h => $"{{\"has_id\": [{string.Join(", ", h.Ids.Select(i => i.Number))}]}}",
        IsEmptyCondition e => $"{{\"is_empty\": {{\"key\": \"{e.Key}\"}}}}",
        IsNullCondition n => $"{{\"is_null\": {{\"key\": \"{n.Key}\"}}}}",
        NestedCondition n => $"{{\"nested\": {{\"key\": \"{n.Key}\", \"filter\": {Describe(n.Filter)}}}}}",
        FieldCondition { Match: { } m } f => $"{{\"key\": \"{f.Key}\", \"match\": {m.Kind switch
        {
            MatchKind.Value => $"{{\"value\": {(m.Value.Keyword is { } s ? $"\"{s}\"" : m.Value.Integer?.ToString(CultureInfo.InvariantCulture) ?? (m.Value.Boolean == true ? "true" : "false"))}}}",
            _ => $"{{\"{m.Kind.ToString().ToLowerInvariant()}\": [{string.Join(", ", m.Keywords?.Select(k => $"\"{k}\"") ?? m.Integers!.Select(i => i.ToString(CultureInfo.InvariantCulture)))}]}}",
        }}}}",
        FieldCondition { Range: { } r } f => $"{{\"key\": \"{f.Key}\", \"range\": {{\"gt\": {N(r.Gt)}, \"gte\": {N(r.Gte)}, \"lt\": {N(r.Lt)}, \"lte\": {N(r.Lte)}}}}}",
        FieldCondition { ValuesCount: { } c } f => $"{{\"key\": \"{f.Key}\", \"values_count\": {{\"gt\": {N(c.Gt)}, \"gte\": {N(c.Gte)}, \"lt\": {N(c.Lt)}, \"lte\": {N(c.Lte)}}}}}",
        _ => condition.GetType().Name,
    };

    private static string N(double? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "null";
}
