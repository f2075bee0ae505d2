using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Operations;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// Receives every committed change of the engine, in commit order, synchronously on the writing thread while the lock
/// that orders the change is held (a point operation under its collection's write lock, right after its WAL append;
/// collection and alias changes under the manager's lock). Knows nothing of transports: the server's replication
/// layer subscribes (<see cref="CollectionManager.ChangeFeed"/>). An implementation must be fast and must not call
/// back into the engine; an exception it throws is the writer's.
/// </summary>
public interface IChangeFeed
{
    void Changed(EngineChange change);
}

/// <summary>One committed change; <see cref="Collection"/> is the collection's name (empty for alias changes).</summary>
public abstract record EngineChange(string Collection);

/// <summary>A point operation as the WAL stores it (<see cref="WalOperation"/>'s kind and encoded body) at its collection LSN.</summary>
public sealed record PointsChanged(string Collection, long Lsn, byte Kind, byte[] Body) : EngineChange(Collection);

/// <summary>A collection was created with <see cref="Config"/> (<c>collection.json</c>'s bytes).</summary>
public sealed record CollectionCreated(string Collection, byte[] Config) : EngineChange(Collection);

/// <summary>A collection and its aliases were deleted.</summary>
public sealed record CollectionDeleted(string Collection) : EngineChange(Collection);

/// <summary>The collection's parameters changed (PATCH): <see cref="Config"/> is the new <c>collection.json</c>.</summary>
public sealed record CollectionConfigChanged(string Collection, byte[] Config) : EngineChange(Collection);

/// <summary>A named vector was added (its parameters are in <see cref="Config"/>, the new <c>collection.json</c>).</summary>
public sealed record VectorCreated(string Collection, string Vector, byte[] Config) : EngineChange(Collection);

/// <summary>A named vector was removed.</summary>
public sealed record VectorDeleted(string Collection, string Vector) : EngineChange(Collection);

/// <summary>A payload index was created or replaced (its schema in <see cref="Config"/>), or dropped (absent there).</summary>
public sealed record PayloadIndexChanged(string Collection, string Field, byte[] Config) : EngineChange(Collection);

/// <summary>The alias map after a change (alias → collection), whole.</summary>
public sealed record AliasesChanged(IReadOnlyDictionary<string, string> Aliases) : EngineChange("");

/// <summary>
/// A collection's contents were replaced wholesale (a restore from a backup or snapshot): a follower can no longer
/// continue from operations and needs a full copy.
/// </summary>
public sealed record CollectionReplaced(string Collection) : EngineChange(Collection);

/// <summary>The feed a manager and its collections share; <see cref="Feed"/> may be set once the engine is open.</summary>
internal sealed class ChangeFeedHolder
{
    public static readonly ChangeFeedHolder None = new();

    public IChangeFeed? Feed;
}

public sealed partial class Collection
{
    internal ChangeFeedHolder FeedHolder { get; set; } = ChangeFeedHolder.None;

    internal void Emit(EngineChange change) => FeedHolder.Feed?.Changed(change);

    internal bool HasFeed => FeedHolder.Feed is not null;

    /// <summary>
    /// Applies an operation another node committed at <paramref name="lsn"/> (replication), through the same WAL and
    /// apply path as a local write, and returns once it is fsynced (with <paramref name="wait"/>; without, the caller
    /// waits for a batch with <see cref="WaitDurableAsync"/>). An operation this collection already holds
    /// (<paramref name="lsn"/> at or below <see cref="LastLsn"/>) is skipped and false returned; one that would leave a
    /// gap throws <see cref="ErrorCode.ReplicationDiverged"/>-coded <see cref="VectorizerException"/> (the follower diverged).
    /// </summary>
    public async ValueTask<bool> ApplyReplicatedAsync(long lsn, byte kind, ReadOnlyMemory<byte> body, bool wait = true, CancellationToken cancellationToken = default)
    {
        var operation = WalOperation.Decode(kind, body.Span);
        long appended;
        rw.EnterWriteLock();
        try
        {
            if (closed)
            {
                throw new VectorizerException(ErrorCode.ShuttingDown, $"Collection `{Name}` is closed");
            }

            if (lsn <= wal.LastLsn)
            {
                return false;
            }

            if (lsn != wal.LastLsn + 1)
            {
                throw new VectorizerException(ErrorCode.ReplicationDiverged, $"Collection `{Name}`: replicated operation {lsn} does not follow {wal.LastLsn}");
            }

            appended = wal.Append(kind, body.Span);
            WritePath.Apply(State, operation, (ulong)appended);
            CountOperation();
            BumpVersion();
            Emit(new PointsChanged(Name, appended, kind, body.ToArray()));
        }
        finally
        {
            rw.ExitWriteLock();
        }

        indexer.Wake();
        if (wait)
        {
            await wal.WaitDurableAsync(appended, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>Returns once every WAL record up to <paramref name="lsn"/> is fsynced (group commit with concurrent writers).</summary>
    public ValueTask WaitDurableAsync(long lsn, CancellationToken cancellationToken = default) => wal.WaitDurableAsync(lsn, cancellationToken);

    /// <summary>Replication: replaces the whole config by <paramref name="config"/> (a PATCH on another node).</summary>
    public void ReplaceConfig(CollectionConfig config) => UpdateConfig(_ => config);
}
