namespace Vectorizer.Server.Application;

/// <summary>
/// What point writes ask of replication: whether this node takes writes, and, after a write with <c>wait=true</c> is
/// durable here, waiting for the replica acknowledgements <c>replication.write_concern</c> asks for. Standalone nodes
/// use <see cref="StandaloneWrites"/>.
/// </summary>
public interface IWriteGuard
{
    /// <summary>Throws <c>NotMaster</c> when this node does not take writes.</summary>
    void CheckWritable();

    /// <summary>After a durable local write (<c>wait=true</c>): returns once the write concern is met, or throws <c>WriteConcernFailed</c>.</summary>
    ValueTask AfterDurableWriteAsync(CancellationToken cancellationToken);
}

/// <summary>No replication: every write is taken, nothing to wait for.</summary>
public sealed class StandaloneWrites : IWriteGuard
{
    public void CheckWritable()
    {
    }

    public ValueTask AfterDurableWriteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>
/// The data directory of a replication node opened outside its server (<c>vectorizer mcp</c> in-process): a local write
/// would exist on this node only and diverge it from the others, so writes are refused; go through the server.
/// </summary>
public sealed class ReplicatedDirectoryWrites : IWriteGuard
{
    public void CheckWritable() =>
        throw new Vectorizer.Engine.Errors.VectorizerException(
            Vectorizer.Engine.Errors.ErrorCode.NotMaster,
            "this data directory belongs to a replication node (replication.enabled): write through its server (vectorizer mcp --url), not in-process");

    public ValueTask AfterDurableWriteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
