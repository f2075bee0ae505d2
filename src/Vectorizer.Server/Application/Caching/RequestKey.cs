using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Vectorizer.Engine.Collections;

namespace Vectorizer.Server.Application.Caching;

/// <summary>
/// The normalised form of a read request, as a SHA-256: a walk over the engine's request types (<c>QueryRequest</c>,
/// <c>Filter</c> and its conditions, the ingestion layer's <c>TextSearchRequest</c>) that writes every public property
/// and field, by name in ordinal order, with sets sorted, so two requests that mean the same thing (a filter's
/// <c>any</c> values in another order, JSON keys in another order, defaults written out or left out) get one key and two
/// that differ in anything get two. By reflection on purpose: a property added to a request type tomorrow is part of the
/// key without anyone remembering to add it (state kept only in a private field would not be: the request types are
/// records of public properties). Requests that must not be cached (a random sample) are reported as such.
/// </summary>
public static class RequestKey
{
    private static readonly ConcurrentDictionary<Type, MemberInfo[]> Members = new();

    /// <summary>The key of <paramref name="request"/>, or null when it must not be cached.</summary>
    public static string? Of(object request)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var writer = new Writer(hash);
        writer.Write(request, depth: 0);
        return writer.Uncacheable ? null : Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private sealed class Writer(IncrementalHash hash)
    {
        private const int MaxDepth = 64;

        public bool Uncacheable { get; private set; }

        public void Write(object? value, int depth)
        {
            if (depth > MaxDepth)
            {
                Uncacheable = true; // a request this deep is not worth a key
                return;
            }

            switch (value)
            {
                case null:
                    Text("~");
                    return;
                case SampleQuery:
                    Uncacheable = true; // a random sample is new every time
                    return;
                case string s:
                    Text($"s{s.Length}:");
                    Text(s);
                    return;
                case bool b:
                    Text(b ? "T" : "F");
                    return;
                case float f:
                    Text("f" + f.ToString("R", CultureInfo.InvariantCulture));
                    return;
                case double d:
                    Text("d" + d.ToString("R", CultureInfo.InvariantCulture));
                    return;
                case Enum e:
                    Text($"e{e.GetType().Name}.{e}");
                    return;
                case DateTimeOffset t:
                    Text("t" + t.UtcTicks.ToString(CultureInfo.InvariantCulture));
                    return;
                case float[] floats:
                    Text($"F{floats.Length}:");
                    hash.AppendData(MemoryMarshal.AsBytes(floats.AsSpan()));
                    return;
                case uint[] integers:
                    Text($"U{integers.Length}:");
                    hash.AppendData(MemoryMarshal.AsBytes(integers.AsSpan()));
                    return;
                case IFormattable formattable when value.GetType().IsPrimitive:
                    Text("n" + formattable.ToString(null, CultureInfo.InvariantCulture));
                    return;
                case Engine.Points.PointId or Engine.Payload.JsonPath or Guid:
                    Text($"{value.GetType().Name}:{value}");
                    return;
                case IDictionary dictionary:
                    var entries = new List<(string Key, object? Value)>();
                    foreach (DictionaryEntry entry in dictionary)
                    {
                        entries.Add((Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? "", entry.Value));
                    }

                    Text($"D{entries.Count}{{");
                    foreach (var (key, item) in entries.OrderBy(e => e.Key, StringComparer.Ordinal))
                    {
                        Write(key, depth + 1);
                        Write(item, depth + 1);
                    }

                    Text("}");
                    return;
                case IEnumerable sequence when IsSet(value.GetType()):
                    // Order does not matter in a set: hash each element alone and sort the digests.
                    var digests = new List<string>();
                    foreach (var item in sequence)
                    {
                        using var inner = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                        var writer = new Writer(inner);
                        writer.Write(item, depth + 1);
                        Uncacheable |= writer.Uncacheable;
                        digests.Add(Convert.ToHexStringLower(inner.GetHashAndReset()));
                    }

                    digests.Sort(StringComparer.Ordinal);
                    Text($"S{digests.Count}[{string.Join(',', digests)}]");
                    return;
                case IEnumerable sequence:
                    Text("L[");
                    foreach (var item in sequence)
                    {
                        Write(item, depth + 1);
                        Text(",");
                    }

                    Text("]");
                    return;
                default:
                    WriteObject(value, depth);
                    return;
            }
        }

        private void WriteObject(object value, int depth)
        {
            var type = value.GetType();
            Text($"O{type.FullName}{{");
            foreach (var member in Members.GetOrAdd(type, Describe))
            {
                Text(member.Name + "=");
                Write(member is PropertyInfo property ? property.GetValue(value) : ((FieldInfo)member).GetValue(value), depth + 1);
                Text(";");
            }

            Text("}");
        }

        private void Text(string text) => hash.AppendData(Encoding.UTF8.GetBytes(text));
    }

    private static bool IsSet(Type type) =>
        type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() is var d && (d == typeof(ISet<>) || d == typeof(IReadOnlySet<>)));

    /// <summary>The public instance properties (without indexers) and fields of a type, by name.</summary>
    internal static MemberInfo[] Describe(Type type) =>
        [.. type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0 && p.CanRead).Cast<MemberInfo>()
            .Concat(type.GetFields(BindingFlags.Public | BindingFlags.Instance))
            .OrderBy(m => m.Name, StringComparer.Ordinal)];
}
