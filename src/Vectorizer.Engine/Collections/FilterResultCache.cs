using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Vectorizer.Engine.Filters;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// The points matching a filter that no payload index answers, remembered from one query to the next while the
/// collection does not change (Lucene's query cache does the same for its filters). Without an index a filter is
/// evaluated against each point's JSON payload, a few hundred nanoseconds a point; most applications send the same
/// few filters again and again (a tenant, a category), so the second time a filter is seen at the same state, every
/// point is evaluated once and the matching offsets are kept: later queries score just those, as with a payload
/// index. A filter seen once is never evaluated over the whole collection (that would cost more than the query).
/// <para>
/// Valid for one <see cref="CollectionState"/> (vacuum replaces it) at one version: the WAL position, which every
/// write advances under the write lock, so a query (holding the read lock) never sees a version change in the middle
/// and an entry can never describe another version. Filters with full-text conditions are not cached (their answer
/// depends on the payload indexes' tokenizers, which change without a write).
/// </para>
/// </summary>
internal sealed class FilterResultCache
{
    /// <summary>Filters remembered (sighted or evaluated) per state; the oldest half is dropped beyond this.</summary>
    private const int MaxEntries = 64;

    private static readonly ConditionalWeakTable<CollectionState, FilterResultCache> Caches = new();

    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);
    private long version = long.MinValue;
    private long clock;

    private sealed class Entry
    {
        public long LastUse;

        /// <summary>The matching offsets below <see cref="Count"/>, ascending; null until the filter is seen twice.</summary>
        public volatile int[]? Offsets;

        public int Count;
    }

    /// <summary>
    /// The offsets of <paramref name="state"/> whose point matches <paramref name="filter"/>, ascending, when this
    /// filter was already seen at <paramref name="version"/> (evaluated now if it was not yet); null the first time,
    /// and for filters that are not cached. Caller holds the collection's read lock.
    /// </summary>
    public static int[]? Lookup(CollectionState state, Filter filter, long version)
    {
        if (FilterKey.Of(filter) is not { } key)
        {
            return null;
        }

        var cache = Caches.GetValue(state, _ => new FilterResultCache());
        return cache.Lookup(state, filter, key, version);
    }

    /// <summary>The offsets remembered for <paramref name="filter"/> at the current version, without counting a sighting (tests).</summary>
    internal static int[]? Peek(CollectionState state, Filter filter) =>
        FilterKey.Of(filter) is { } key && Caches.TryGetValue(state, out var cache) && cache.entries.TryGetValue(key, out var entry) ? entry.Offsets : null;

    private int[]? Lookup(CollectionState state, Filter filter, string key, long atVersion)
    {
        if (Interlocked.Read(ref version) != atVersion)
        {
            // The state changed since the entries were made: forget them all (readers at the old version are gone,
            // a write sits between them and this query).
            lock (entries)
            {
                if (version != atVersion)
                {
                    entries.Clear();
                    Interlocked.Exchange(ref version, atVersion);
                }
            }
        }

        var now = Interlocked.Increment(ref clock);
        if (!entries.TryGetValue(key, out var entry))
        {
            if (entries.Count >= MaxEntries)
            {
                Evict();
            }

            entries.TryAdd(key, new Entry { LastUse = now });
            return null;
        }

        entry.LastUse = now;
        if (entry.Offsets is { } offsets && entry.Count == state.Count)
        {
            return offsets;
        }

        // Seen before: evaluate every live point once (concurrent queries may both do it; either answer is right).
        var count = state.Count;
        var matching = new List<int>();
        for (var offset = 0; offset < count; offset++)
        {
            if (!state.Deleted.Get(offset) && FilterEvaluator.Matches(filter, state, offset))
            {
                matching.Add(offset);
            }
        }

        entry.Count = count;
        entry.Offsets = [.. matching];
        return entry.Offsets;
    }

    private void Evict()
    {
        lock (entries)
        {
            if (entries.Count < MaxEntries)
            {
                return;
            }

            foreach (var (key, _) in entries.OrderBy(e => e.Value.LastUse).Take(MaxEntries / 2).ToList())
            {
                entries.TryRemove(key, out _);
            }
        }
    }
}

/// <summary>A canonical text of a filter (equal for filters that mean the same thing), or null when it cannot be cached.</summary>
internal static class FilterKey
{
    public static string? Of(Filter filter)
    {
        var builder = new StringBuilder(64);
        return Append(builder, filter) ? builder.ToString() : null;
    }

    private static bool Append(StringBuilder builder, Filter filter)
    {
        builder.Append('{');
        var ok = Clause(builder, "must", filter.Must) && Clause(builder, "should", filter.Should) && Clause(builder, "not", filter.MustNot);
        if (ok && filter.MinShould is { } minShould)
        {
            builder.Append("min").Append(minShould.MinCount.ToString(CultureInfo.InvariantCulture));
            ok = Clause(builder, "of", minShould.Conditions);
        }

        builder.Append('}');
        return ok;
    }

    private static bool Clause(StringBuilder builder, string name, IReadOnlyList<Condition>? conditions)
    {
        if (conditions is null)
        {
            return true;
        }

        builder.Append(name).Append('[');
        foreach (var condition in conditions)
        {
            if (!Append(builder, condition))
            {
                return false;
            }

            builder.Append(';');
        }

        builder.Append(']');
        return true;
    }

    private static bool Append(StringBuilder builder, Condition condition)
    {
        switch (condition)
        {
            case FieldCondition field:
                if (field.Match is { IsFullText: true })
                {
                    return false;
                }

                Text(builder.Append("field:"), field.Key.Text);
                if (field.Match is { } match)
                {
                    builder.Append("|match:").Append(match.Kind.ToString()).Append(':');
                    if (match.Value.Keyword is { } keywordValue)
                    {
                        Text(builder.Append('s'), keywordValue);
                    }

                    builder.Append(':').Append(match.Value.Integer?.ToString(CultureInfo.InvariantCulture)).Append(':').Append(match.Value.Boolean);
                    if (match.Keywords is { } keywords)
                    {
                        foreach (var keyword in keywords.Order(StringComparer.Ordinal))
                        {
                            Text(builder.Append(','), keyword);
                        }
                    }

                    if (match.Integers is { } integers)
                    {
                        foreach (var integer in integers.Order())
                        {
                            builder.Append(',').Append(integer.ToString(CultureInfo.InvariantCulture));
                        }
                    }

                    if (match.Text is { } text)
                    {
                        Text(builder.Append(":text:"), text);
                    }
                }

                if (field.Range is { } range)
                {
                    builder.Append("|range:").Append(Number(range.Gt)).Append(',').Append(Number(range.Gte)).Append(',').Append(Number(range.Lt)).Append(',').Append(Number(range.Lte));
                }

                if (field.DatetimeRange is { } datetime)
                {
                    builder.Append("|datetime:").Append(datetime.Gt?.UtcTicks).Append(',').Append(datetime.Gte?.UtcTicks).Append(',').Append(datetime.Lt?.UtcTicks).Append(',').Append(datetime.Lte?.UtcTicks);
                }

                if (field.ValuesCount is { } count)
                {
                    builder.Append("|count:").Append(count.Gt).Append(',').Append(count.Gte).Append(',').Append(count.Lt).Append(',').Append(count.Lte);
                }

                if (field.Geo is not null)
                {
                    // Geo shapes hold doubles and lists; not worth a canonical form.
                    return false;
                }

                builder.Append("|empty:").Append(field.IsEmpty).Append("|null:").Append(field.IsNull);
                return true;
            case HasIdCondition hasId:
                builder.Append("ids:");
                foreach (var id in hasId.Ids.Select(i => i.ToString()).Order(StringComparer.Ordinal))
                {
                    Text(builder.Append(','), id);
                }

                return true;
            case HasVectorCondition hasVector:
                Text(builder.Append("vector:"), hasVector.VectorName);
                return true;
            case IsEmptyCondition isEmpty:
                Text(builder.Append("isempty:"), isEmpty.Key.Text);
                return true;
            case IsNullCondition isNull:
                Text(builder.Append("isnull:"), isNull.Key.Text);
                return true;
            case NestedCondition nested:
                Text(builder.Append("nested:"), nested.Key.Text);
                return Append(builder, nested.Filter);
            case FilterCondition inner:
                return Append(builder.Append("filter:"), inner.Filter);
            default:
                return false;
        }
    }

    /// <summary>Length-prefixed, so no text can be mistaken for the separators around it.</summary>
    private static void Text(StringBuilder builder, string text) =>
        builder.Append(text.Length.ToString(CultureInfo.InvariantCulture)).Append('"').Append(text);

    private static string Number(double? value) => value is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : "-";
}
