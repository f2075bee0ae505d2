using System.Collections.Concurrent;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Payload;

namespace Vectorizer.Server.Application;

/// <summary>A performance problem the server noticed, with the request that fixes it (Qdrant's <c>/issues</c>).</summary>
/// <param name="Code">Stable identifier: <c>{collection}.UNINDEXED_FIELD.{field}</c>.</param>
/// <param name="Collection">The collection concerned.</param>
/// <param name="Field">The payload field filtered on without an index.</param>
/// <param name="FieldType">The index type the filter calls for (<c>keyword</c>, <c>integer</c>, <c>float</c>, <c>bool</c>, <c>datetime</c>, <c>geo</c>, <c>text</c>).</param>
/// <param name="Since">When it was first seen (kept while the issue lasts).</param>
public sealed record Issue(string Code, string Collection, string Field, string FieldType, DateTimeOffset Since)
{
    public string Description => $"Unindexed field '{Field}' might be slowing down queries in collection '{Collection}'";

    public string Solution => $"Create an index on field '{Field}' of type '{FieldType}' in collection '{Collection}'";
}

/// <summary>
/// Qdrant's issues report: fields that reads filter on without a payload index (every condition of a filter that a
/// payload index could answer: match, range, geo; nested keys as <c>a[].b</c>). An issue lasts until the field is
/// indexed, the collection deleted, or the report cleared; it is checked again when listed, so an index created or a
/// collection deleted by any route (REST, gRPC, the file indexer) ends it.
/// </summary>
public sealed class IssuesService(TimeProvider? time = null)
{
    private readonly ConcurrentDictionary<string, Issue> issues = new(StringComparer.Ordinal);
    private readonly TimeProvider clock = time ?? TimeProvider.System;

    /// <summary>Records the unindexed fields <paramref name="filter"/> uses on <paramref name="collection"/>.</summary>
    public void ObserveFilter(Collection collection, Filter? filter)
    {
        if (filter is null || filter.IsEmpty)
        {
            return;
        }

        var schema = collection.Config.PayloadSchema;
        foreach (var (field, type) in FieldsOf(filter, null))
        {
            if (!schema.ContainsKey(field))
            {
                var code = $"{collection.Name}.UNINDEXED_FIELD.{field}";
                issues.TryAdd(code, new Issue(code, collection.Name, field, type, clock.GetUtcNow()));
            }
        }
    }

    /// <summary>The current issues the caller may see, oldest first (ended ones are dropped on the way).</summary>
    public IReadOnlyList<Issue> List(CallContext call, CollectionManager manager)
    {
        var result = new List<Issue>();
        foreach (var issue in issues.Values)
        {
            var collection = manager.TryGet(issue.Collection);
            if (collection is null || collection.Name != issue.Collection || collection.Config.PayloadSchema.ContainsKey(issue.Field))
            {
                issues.TryRemove(issue.Code, out _);
                continue;
            }

            if (call.Access.CanSee(issue.Collection))
            {
                result.Add(issue);
            }
        }

        result.Sort((a, b) => a.Since != b.Since ? a.Since.CompareTo(b.Since) : string.CompareOrdinal(a.Code, b.Code));
        return result;
    }

    /// <summary>Forgets every issue (they come back when the same reads run again).</summary>
    public void Clear(CallContext call)
    {
        call.Access.Demand(AccessLevel.Manage, null);
        issues.Clear();
    }

    /// <summary>The payload fields a filter's conditions read, with the index type each calls for.</summary>
    private static IEnumerable<(string Field, string Type)> FieldsOf(Filter filter, JsonPath? prefix)
    {
        foreach (var conditions in new[] { filter.Must, filter.Should, filter.MustNot, filter.MinShould?.Conditions })
        {
            foreach (var condition in conditions ?? [])
            {
                switch (condition)
                {
                    case FilterCondition nested:
                        foreach (var field in FieldsOf(nested.Filter, prefix))
                        {
                            yield return field;
                        }

                        break;
                    case NestedCondition nested:
                        var arrayPath = JsonPath.Parse(nested.Key.Text + "[]");
                        foreach (var field in FieldsOf(nested.Filter, prefix is null ? arrayPath : prefix.Concat(arrayPath)))
                        {
                            yield return field;
                        }

                        break;
                    case FieldCondition field when IndexTypeFor(field) is { } type:
                        yield return ((prefix is null ? field.Key : prefix.Concat(field.Key)).Text, type);
                        break;
                }
            }
        }
    }

    private static string? IndexTypeFor(FieldCondition condition)
    {
        if (condition.Match is { } match)
        {
            return match.Kind switch
            {
                MatchKind.Text or MatchKind.TextAny or MatchKind.Phrase => "text",
                MatchKind.Value when match.Value.Integer is not null => "integer",
                MatchKind.Value when match.Value.Boolean is not null => "bool",
                MatchKind.Any or MatchKind.Except when match.Integers is { Count: > 0 } => "integer",
                _ => "keyword",
            };
        }

        return condition.Range is not null ? "float"
            : condition.DatetimeRange is not null ? "datetime"
            : condition.Geo is not null ? "geo"
            : null;
    }
}
