using Vectorizer.Server.Replication.Protocol;

namespace Vectorizer.Server.Replication;

/// <summary>
/// The last <c>log_size</c> changes, in memory, by global position: what a reconnecting replica gets in a partial
/// resync. Memory only (see docs/replication.md): a restarted node starts an empty log at its persisted position in a
/// new epoch, so replicas of a restarted master take a full resync; a replica keeps the master's records in its own
/// log, so once promoted it serves partial resyncs to the others.
/// </summary>
public sealed class ReplicationLog
{
    private readonly object gate = new();
    private readonly Change[] ring;
    private long head;
    private long headEpoch;
    private int count;
    private TaskCompletionSource appended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ReplicationLog(int capacity, long position, long epoch)
    {
        ring = new Change[capacity];
        head = position;
        headEpoch = epoch;
    }

    /// <summary>The position of the last change (the base position while the log is empty).</summary>
    public long Head
    {
        get
        {
            lock (gate)
            {
                return head;
            }
        }
    }

    /// <summary>The last change's position and epoch.</summary>
    public (long Position, long Epoch) HeadAndEpoch()
    {
        lock (gate)
        {
            return (head, headEpoch);
        }
    }

    /// <summary>The oldest position a partial resync can continue from.</summary>
    public long Oldest
    {
        get
        {
            lock (gate)
            {
                return head - count;
            }
        }
    }

    /// <summary>Assigns the next position to <paramref name="change"/> (in <paramref name="epoch"/>) and keeps it.</summary>
    public Change Append(Change change, long epoch)
    {
        TaskCompletionSource wake;
        lock (gate)
        {
            change.Position = head + 1;
            change.Epoch = epoch;
            Keep(change);
            wake = appended;
            appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        wake.TrySetResult();
        return change;
    }

    /// <summary>Keeps a change another node numbered (a replica's copy of its master's log); it must follow the head.</summary>
    public void AppendReplicated(Change change)
    {
        TaskCompletionSource wake;
        lock (gate)
        {
            if (change.Position != head + 1)
            {
                throw new InvalidOperationException($"Replicated change {change.Position} does not follow {head}");
            }

            Keep(change);
            wake = appended;
            appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        wake.TrySetResult();
    }

    private void Keep(Change change)
    {
        ring[(int)(change.Position % ring.Length)] = change;
        head = change.Position;
        headEpoch = change.Epoch;
        count = Math.Min(count + 1, ring.Length);
    }

    /// <summary>Empties the log and continues at <paramref name="position"/> (after a full resync, or a restore on the master).</summary>
    public void Reset(long position, long epoch)
    {
        lock (gate)
        {
            Array.Clear(ring);
            head = position;
            headEpoch = epoch;
            count = 0;
        }
    }

    /// <summary>
    /// True when a node that holds everything up to <paramref name="position"/>, whose last record was of
    /// <paramref name="epoch"/>, can continue from this log: the log holds that exact record (same epoch), or it is the head.
    /// </summary>
    public bool CanContinue(long position, long epoch)
    {
        lock (gate)
        {
            if (position == head)
            {
                return epoch == headEpoch;
            }

            if (position > head || position < head - count + 1)
            {
                return false;
            }

            return ring[(int)(position % ring.Length)].Epoch == epoch;
        }
    }

    /// <summary>Up to <paramref name="max"/> changes after <paramref name="after"/>; null when they are no longer held.</summary>
    public List<Change>? ReadAfter(long after, int max)
    {
        lock (gate)
        {
            if (after < head - count)
            {
                return null;
            }

            var result = new List<Change>((int)Math.Min(max, head - after));
            for (var p = after + 1; p <= head && result.Count < max; p++)
            {
                result.Add(ring[(int)(p % ring.Length)]);
            }

            return result;
        }
    }

    /// <summary>Completes when a change after <paramref name="after"/> exists, or after <paramref name="timeout"/>.</summary>
    public async Task WaitAfterAsync(long after, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task wait;
        lock (gate)
        {
            if (head > after)
            {
                return;
            }

            wait = appended.Task;
        }

        try
        {
            await wait.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }
}
