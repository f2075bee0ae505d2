using System.Buffers.Binary;
using System.Globalization;

namespace Vectorizer.Engine.Points;

/// <summary>
/// A point id as Qdrant defines it: an unsigned 64-bit integer or a UUID. Integers sort before UUIDs;
/// UUIDs sort by their bytes (the same order as their canonical strings).
/// </summary>
public readonly struct PointId : IEquatable<PointId>, IComparable<PointId>
{
    private readonly ulong high;
    private readonly ulong low;
    private readonly bool isUuid;

    private PointId(ulong high, ulong low, bool isUuid)
    {
        this.high = high;
        this.low = low;
        this.isUuid = isUuid;
    }

    public bool IsUuid => isUuid;

    /// <summary>The integer value; only meaningful when <see cref="IsUuid"/> is false.</summary>
    public ulong Number => low;

    public static PointId FromNumber(ulong value) => new(0, value, false);

    public static PointId FromUuid(Guid value)
    {
        Span<byte> bytes = stackalloc byte[16];
        value.TryWriteBytes(bytes, bigEndian: true, out _);
        return new PointId(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]), true);
    }

    public static PointId FromUuidParts(ulong high, ulong low) => new(high, low, true);

    public Guid ToGuid()
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, high);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], low);
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>Parses a UUID string in any common form (hyphenated, simple, braced, urn:uuid:).</summary>
    public static bool TryParseUuid(string text, out PointId id)
    {
        var span = text.AsSpan();
        if (span.StartsWith("urn:uuid:", StringComparison.OrdinalIgnoreCase))
        {
            span = span[9..];
        }

        if (Guid.TryParse(span, out var guid))
        {
            id = FromUuid(guid);
            return true;
        }

        id = default;
        return false;
    }

    /// <summary>Parses the text form used in URLs: digits for an integer id, otherwise a UUID.</summary>
    public static bool TryParse(string text, out PointId id)
    {
        if (text.Length > 0 && char.IsAsciiDigit(text[0]) && ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            id = FromNumber(number);
            return true;
        }

        return TryParseUuid(text, out id);
    }

    public ulong UuidHigh => high;

    public ulong UuidLow => low;

    public bool Equals(PointId other) => high == other.high && low == other.low && isUuid == other.isUuid;

    public override bool Equals(object? obj) => obj is PointId other && Equals(other);

    public override int GetHashCode() => isUuid ? HashCode.Combine(high, low) : low.GetHashCode();

    public int CompareTo(PointId other)
    {
        if (isUuid != other.isUuid)
        {
            return isUuid ? 1 : -1;
        }

        var c = high.CompareTo(other.high);
        return c != 0 ? c : low.CompareTo(other.low);
    }

    public static bool operator ==(PointId left, PointId right) => left.Equals(right);

    public static bool operator !=(PointId left, PointId right) => !left.Equals(right);

    public static bool operator <(PointId left, PointId right) => left.CompareTo(right) < 0;

    public static bool operator >(PointId left, PointId right) => left.CompareTo(right) > 0;

    public static bool operator <=(PointId left, PointId right) => left.CompareTo(right) <= 0;

    public static bool operator >=(PointId left, PointId right) => left.CompareTo(right) >= 0;

    /// <summary>The canonical text: decimal digits, or a lowercase hyphenated UUID.</summary>
    public override string ToString() =>
        isUuid ? ToGuid().ToString("D") : low.ToString(CultureInfo.InvariantCulture);
}
