using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// Named vectors created or deleted in the part of the WAL an open replays (<see cref="WalOperationKind.CreateVector"/>,
/// <see cref="WalOperationKind.DeleteVector"/>, WAL format 2), found by reading the log once before the replay.
/// <para>
/// The record is the change's commit point: it is appended before <c>collection.json</c> is rewritten, so the open
/// rolls <c>collection.json</c> forward to the last change of each name (<see cref="Apply"/>). During the replay a record
/// older than the last change of a vector carries none of that vector's values (they belonged to a vector since deleted,
/// or re-created, perhaps with another size: <see cref="Strip"/>), and at its last change the vector starts over empty
/// (<see cref="Reset"/>): the same state as the live change left, whichever checkpoint the open starts from.
/// </para>
/// </summary>
internal sealed class VectorChanges
{
    private readonly Dictionary<string, (long Lsn, WalOperation Change)> last = new(StringComparer.Ordinal);

    public static readonly VectorChanges None = new();

    public bool IsEmpty => last.Count == 0;

    /// <summary>Reads the WAL after <paramref name="afterLsn"/> for vector changes (throws what the replay would).</summary>
    public static VectorChanges Scan(IStorage storage, string walDirectory, long afterLsn)
    {
        var changes = new VectorChanges();
        if (!storage.DirectoryExists(walDirectory))
        {
            return changes;
        }

        WriteAheadLog.Scan(storage, walDirectory, afterLsn, record =>
        {
            if (record.Kind is (byte)WalOperationKind.CreateVector or (byte)WalOperationKind.DeleteVector)
            {
                // A record that does not decode is reported by the replay that follows, with its LSN.
                WalOperation change;
                try
                {
                    change = WalOperation.Decode(record.Kind, record.Body.Span);
                }
                catch (CorruptDataException)
                {
                    return;
                }

                changes.last[change.ChangedVector!] = (record.Lsn, change);
            }
        });
        return changes;
    }

    /// <summary><paramref name="config"/> with every vector's last change applied (a change whose rewrite of <c>collection.json</c> a crash cut short).</summary>
    public CollectionConfig Apply(CollectionConfig config)
    {
        foreach (var (name, (_, change)) in last)
        {
            var has = config.Vectors.ContainsKey(name) || config.SparseVectors.ContainsKey(name);
            if (change.Kind == WalOperationKind.DeleteVector && has)
            {
                config = WithDeleted(config, name);
            }
            else if (change.Kind == WalOperationKind.CreateVector)
            {
                if (has && (config.Vectors.GetValueOrDefault(name) != change.DenseParams || config.SparseVectors.GetValueOrDefault(name) != change.SparseParams))
                {
                    config = WithDeleted(config, name);
                    has = false;
                }

                if (!has)
                {
                    config = WithCreated(config, name, change.DenseParams, change.SparseParams);
                }
            }
        }

        return config;
    }

    /// <summary>
    /// <paramref name="operation"/> (at <paramref name="lsn"/>) without the values of vectors changed after it; null when
    /// nothing is left to apply.
    /// </summary>
    public WalOperation Strip(WalOperation operation, long lsn)
    {
        if (IsEmpty || operation.ChangedVector is not null)
        {
            return operation;
        }

        bool Stale(string name) => last.TryGetValue(name, out var change) && change.Lsn > lsn;

        return operation.Kind switch
        {
            WalOperationKind.Upsert or WalOperationKind.UpdateVectors => operation with
            {
                Vectors = operation.Vectors?.Select(v => v.Keys.Any(Stale) ? v.Where(e => !Stale(e.Key)).ToDictionary(StringComparer.Ordinal) : v).ToList(),
                Sparse = operation.Sparse?.Select(v => v is not null && v.Keys.Any(Stale) ? v.Where(e => !Stale(e.Key)).ToDictionary(StringComparer.Ordinal) : v).ToList(),
            },
            WalOperationKind.DeleteVectors => operation with { VectorNames = [.. operation.VectorNames!.Where(n => !Stale(n))] },
            _ => operation,
        };
    }

    /// <summary>
    /// Applies a vector change met during a replay: at the last change of its vector, the vector starts over empty
    /// (or is gone) as the live change left it, in a new generation of vector files.
    /// </summary>
    public void Reset(CollectionState state, CollectionConfig config, WalOperation change, long lsn, string? spillDirectory)
    {
        var name = change.ChangedVector!;
        if (!last.TryGetValue(name, out var final) || final.Lsn != lsn)
        {
            return; // an earlier change: the vector's values before its last change are not applied at all
        }

        state.RemoveVector(name);
        if (config.Vectors.TryGetValue(name, out var dense))
        {
            state.AddSlot(new VectorSlot(name, dense, config.HnswFor(name), config.QuantizationFor(name), spillDirectory));
        }
        else if (config.SparseVectors.TryGetValue(name, out var sparse))
        {
            state.AddSparseSlot(new Sparse.SparseSlot(name, sparse.Idf) { FullScanThreshold = sparse.Index?.FullScanThreshold ?? Sparse.SparseSlot.DefaultFullScanThreshold });
        }

        state.Generation++;
    }

    /// <summary>The config with a new vector (no check that the name is free).</summary>
    public static CollectionConfig WithCreated(CollectionConfig config, string name, VectorParams? dense, SparseVectorParams? sparse) =>
        dense is not null
            ? WithVectors(config, new Dictionary<string, VectorParams>(config.Vectors, StringComparer.Ordinal) { [name] = dense })
            : config with { SparseVectors = new Dictionary<string, SparseVectorParams>(config.SparseVectors, StringComparer.Ordinal) { [name] = sparse! } };

    /// <summary>The config without vector <paramref name="name"/>, dense or sparse.</summary>
    public static CollectionConfig WithDeleted(CollectionConfig config, string name)
    {
        if (config.Vectors.ContainsKey(name))
        {
            var vectors = new Dictionary<string, VectorParams>(config.Vectors, StringComparer.Ordinal);
            vectors.Remove(name);
            return WithVectors(config, vectors);
        }

        var sparse = new Dictionary<string, SparseVectorParams>(config.SparseVectors, StringComparer.Ordinal);
        sparse.Remove(name);
        return config with { SparseVectors = sparse };
    }

    /// <summary>
    /// New dense vectors. A collection is "named" (its points' vectors are objects) unless its only dense vector is the
    /// unnamed one: adding a named vector next to it makes it named, removing that vector again makes it plain.
    /// </summary>
    public static CollectionConfig WithVectors(CollectionConfig config, Dictionary<string, VectorParams> vectors) =>
        config with { Vectors = vectors, NamedVectors = !(vectors.Count == 1 && vectors.ContainsKey("")) };
}
