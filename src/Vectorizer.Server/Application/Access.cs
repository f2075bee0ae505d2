using Vectorizer.Engine.Errors;

namespace Vectorizer.Server.Application;

/// <summary>What an operation needs: reading data, changing points and payloads, or managing the server's structure.</summary>
public enum AccessLevel
{
    /// <summary>Reads: info, retrieve, scroll, count, every search.</summary>
    Read = 1,

    /// <summary>Point and payload writes, document ingestion.</summary>
    Write = 2,

    /// <summary>Create, update and delete collections, payload indexes, aliases, snapshots, backups, configuration.</summary>
    Manage = 3,
}

/// <summary>
/// What a caller may do: everything, read everything, or read (and write) a list of collections. Built once per call by
/// the transport from its credential (an API key or a JWT's claims); the application services check it, so REST, gRPC
/// and MCP enforce the same rules. With authentication off every caller has <see cref="Full"/>.
/// </summary>
public sealed class Access
{
    private readonly AccessLevel global;
    private readonly IReadOnlyDictionary<string, AccessLevel>? collections;

    private Access(AccessLevel global, IReadOnlyDictionary<string, AccessLevel>? collections, string description)
    {
        this.global = global;
        this.collections = collections;
        Description = description;
    }

    /// <summary>Everything (the full API key, a JWT with <c>access: "m"</c>, or authentication off).</summary>
    public static Access Full { get; } = new(AccessLevel.Manage, null, "full access");

    /// <summary>Every read, no write (the read-only API key, a JWT with <c>access: "r"</c>).</summary>
    public static Access ReadOnly { get; } = new(AccessLevel.Read, null, "read-only access");

    /// <summary>Only the named collections (an alias counts as its collection), each read or read-write; never manage.</summary>
    public static Access ForCollections(IReadOnlyDictionary<string, AccessLevel> collections) =>
        new(0, new Dictionary<string, AccessLevel>(collections, StringComparer.Ordinal), "access to " + string.Join(", ", collections.Keys.Order(StringComparer.Ordinal)));

    /// <summary>True when the caller is limited to a list of collections.</summary>
    public bool IsCollectionScoped => collections is not null;

    public string Description { get; }

    /// <summary>Whether <paramref name="level"/> is allowed on <paramref name="collection"/> (a resolved name), or server-wide when null.</summary>
    public bool Allows(AccessLevel level, string? collection)
    {
        if (collections is null)
        {
            return level <= global;
        }

        return level != AccessLevel.Manage && collection is not null && collections.TryGetValue(collection, out var granted) && level <= granted;
    }

    /// <summary>Whether the caller may see that <paramref name="collection"/> exists (listings are filtered by this).</summary>
    public bool CanSee(string collection) => Allows(AccessLevel.Read, collection);

    /// <summary>Throws <see cref="ErrorCode.Forbidden"/> unless <see cref="Allows"/>.</summary>
    public void Demand(AccessLevel level, string? collection)
    {
        if (!Allows(level, collection))
        {
            var what = level switch
            {
                AccessLevel.Read => "read",
                AccessLevel.Write => "write to",
                _ => "manage",
            };
            throw new VectorizerException(ErrorCode.Forbidden, collection is null
                ? $"Access forbidden: {Description} does not allow to {what} the server"
                : $"Access forbidden: {Description} does not allow to {what} collection `{collection}`");
        }
    }
}
