using System.Buffers;
using Vectorizer.Engine.Diagnostics;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;
using Vectorizer.Engine.Storage;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// The write path of one collection:
/// <code>
/// request ─► Prepare (no lock: names, dimensions, NaN; Cosine vectors normalised in place)
///         ─► write lock ─► Resolve (filters and update modes → explicit ids; null when nothing changes)
///                      ─► WAL append (pwrite, in the page cache) ─► Apply (in memory) ─► unlock ─► wake the indexer
///         ─► wait=true: group fsync covering the record
/// </code>
/// The WAL holds resolved operations, so replaying it (<see cref="Apply"/>, also used by recovery) gives the same
/// state whatever the payloads said at replay time. Bad input throws before anything is written.
/// </summary>
internal sealed class WritePath
{
    private readonly Collection owner;
    private readonly WriteAheadLog wal;
    private readonly BackgroundIndexer indexer;

    /// <summary>Reused for every WAL record (writes are serialised by the write lock).</summary>
    private ArrayBufferWriter<byte> walBuffer = new(1 << 16);

    public WritePath(Collection owner, WriteAheadLog wal, BackgroundIndexer indexer)
    {
        this.owner = owner;
        this.wal = wal;
        this.indexer = indexer;
    }

    /// <summary>Applies operations in order; every one is validated before the first is written.</summary>
    public async ValueTask<IReadOnlyList<UpdateResult>> UpdateBatchAsync(IReadOnlyList<UpdateOperation> operations, bool wait, CancellationToken cancellationToken)
    {
        foreach (var operation in operations)
        {
            Prepare(operation);
        }

        var lsns = new long[operations.Count];
        owner.Lock.EnterWriteLock();
        try
        {
            if (owner.IsClosed)
            {
                throw new VectorizerException(ErrorCode.ShuttingDown, $"Collection `{owner.Name}` is closed");
            }

            var current = owner.State;
            for (var i = 0; i < operations.Count; i++)
            {
                var resolved = Resolve(current, operations[i]);
                if (resolved is null)
                {
                    lsns[i] = wal.LastLsn;
                    continue;
                }

                walBuffer.ResetWrittenCount();
                resolved.Encode(walBuffer);
                long lsn;
                using (var span = EngineTelemetry.Source.StartActivity("wal.append"))
                {
                    span?.SetTag(EngineTelemetry.CollectionTag, owner.Name);
                    lsn = wal.Append((byte)resolved.Kind, walBuffer.WrittenSpan);
                }

                Apply(current, resolved, (ulong)lsn);
                if (owner.HasFeed)
                {
                    owner.Emit(new PointsChanged(owner.Name, lsn, (byte)resolved.Kind, walBuffer.WrittenSpan.ToArray()));
                }

                lsns[i] = lsn;
                owner.CountOperation();
            }
        }
        finally
        {
            // Even when an operation failed half-way: a spurious change of version only costs a cache miss.
            owner.BumpVersion();
            if (walBuffer.Capacity > 8 << 20)
            {
                // One huge request should not pin its buffer for the life of the collection.
                walBuffer = new ArrayBufferWriter<byte>(1 << 16);
            }

            owner.Lock.ExitWriteLock();
        }

        indexer.Wake();
        if (wait && lsns.Length > 0)
        {
            // The fsync that covers the last record: this call's own, or one a concurrent writer started (group commit).
            using var span = EngineTelemetry.Source.StartActivity("wal.fsync");
            span?.SetTag(EngineTelemetry.CollectionTag, owner.Name);
            await wal.WaitDurableAsync(lsns[^1], cancellationToken).ConfigureAwait(false);
        }

        var results = new UpdateResult[lsns.Length];
        for (var i = 0; i < lsns.Length; i++)
        {
            results[i] = new UpdateResult(lsns[i], wait ? UpdateStatus.Completed : UpdateStatus.Acknowledged);
        }

        return results;
    }

    // ------------------------------------------------------------------ prepare (no lock)

    /// <summary>
    /// Checks what can be checked without the lock (vector names, dimensions, finiteness) and normalises the
    /// operation's dense vectors in place for their metric (Cosine vectors become unit length).
    /// </summary>
    private void Prepare(UpdateOperation operation)
    {
        switch (operation)
        {
            case UpsertOperation upsert:
                foreach (var point in upsert.Points)
                {
                    CheckAndNormalizeVectors(point.Vectors);
                    CheckSparseNames(point.Sparse);
                }

                break;
            case UpdateVectorsOperation update:
                foreach (var point in update.Points)
                {
                    CheckAndNormalizeVectors(point.Vectors);
                    CheckSparseNames(point.Sparse);
                }

                break;
            case DeleteVectorsOperation deleteVectors:
                var state = owner.State;
                foreach (var name in deleteVectors.VectorNames)
                {
                    if (state.SparseSlot(name) is null)
                    {
                        _ = SlotOrThrow(state, name);
                    }
                }

                break;
        }
    }

    /// <summary>Checks names, dimensions and finiteness, then preprocesses (normalises Cosine vectors) in place.</summary>
    private void CheckAndNormalizeVectors(IReadOnlyDictionary<string, float[]> vectors)
    {
        var config = owner.Config;
        foreach (var (name, vector) in vectors)
        {
            var parameters = config.Vectors.TryGetValue(name, out var p) ? p : throw VectorizerException.VectorNameNotFound(name);
            if (vector.Length != parameters.Size)
            {
                throw VectorizerException.WrongDimension(parameters.Size, vector.Length, config.NamedVectors ? name : null);
            }

            if (!VectorKernels.AllFinite(vector))
            {
                throw VectorizerException.BadRequest(name.Length == 0
                    ? "Vector contains NaN or infinite values"
                    : $"Vector `{name}` contains NaN or infinite values");
            }

            MetricDispatch.Preprocess(parameters.Distance, vector);
        }
    }

    private void CheckSparseNames(IReadOnlyDictionary<string, SparseVector>? sparse)
    {
        if (sparse is null)
        {
            return;
        }

        var current = owner.State;
        foreach (var name in sparse.Keys)
        {
            if (current.SparseSlot(name) is null)
            {
                throw VectorizerException.VectorNameNotFound(name);
            }
        }
    }

    internal static VectorSlot SlotOrThrow(CollectionState current, string name) =>
        current.Slot(name) ?? throw VectorizerException.VectorNameNotFound(name);

    // ------------------------------------------------------------------ resolve (write lock held)

    /// <summary>Turns a request into the id-explicit form the WAL stores; null when it changes nothing.</summary>
    private static WalOperation? Resolve(CollectionState current, UpdateOperation operation)
    {
        switch (operation)
        {
            case UpsertOperation upsert:
                return ResolveUpsert(current, upsert);
            case DeletePointsOperation delete:
                var deleteIds = SelectIds(current, delete.Selector, requireExisting: false);
                return deleteIds.Count == 0 ? null : new WalOperation(WalOperationKind.Delete, deleteIds);
            case SetPayloadOperation set:
                return Nonempty(new WalOperation(WalOperationKind.SetPayload, SelectIds(current, set.Selector, true), Payload: set.Payload, Key: set.Key));
            case OverwritePayloadOperation overwrite:
                return Nonempty(new WalOperation(WalOperationKind.OverwritePayload, SelectIds(current, overwrite.Selector, true), Payload: overwrite.Payload));
            case DeletePayloadOperation deletePayload:
                return Nonempty(new WalOperation(WalOperationKind.DeletePayload, SelectIds(current, deletePayload.Selector, true), Keys: deletePayload.Keys));
            case ClearPayloadOperation clear:
                return Nonempty(new WalOperation(WalOperationKind.ClearPayload, SelectIds(current, clear.Selector, true)));
            case UpdateVectorsOperation update:
                return ResolveUpdateVectors(current, update);
            case DeleteVectorsOperation deleteVectors:
                return Nonempty(new WalOperation(WalOperationKind.DeleteVectors, SelectIds(current, deleteVectors.Selector, true), VectorNames: deleteVectors.VectorNames));
            default:
                throw new VectorizerException(ErrorCode.Internal, $"Unknown operation {operation.GetType().Name}");
        }
    }

    private static WalOperation? Nonempty(WalOperation operation) => operation.Ids.Count == 0 ? null : operation;

    private static WalOperation? ResolveUpsert(CollectionState current, UpsertOperation upsert)
    {
        var ids = new List<PointId>(upsert.Points.Count);
        var vectors = new List<IReadOnlyDictionary<string, float[]>>(upsert.Points.Count);
        var payloads = new List<PointPayload?>(upsert.Points.Count);
        var sparse = new List<IReadOnlyDictionary<string, SparseVector>?>(upsert.Points.Count);
        var anySparse = false;
        foreach (var point in upsert.Points)
        {
            var exists = current.TryGetOffset(point.Id, out var offset);
            if ((upsert.Mode == UpdateMode.InsertOnly && exists) || (upsert.Mode == UpdateMode.UpdateOnly && !exists))
            {
                continue;
            }

            if (exists && upsert.UpdateFilter is { } filter && !FilterEvaluator.Matches(filter, current, offset))
            {
                continue;
            }

            ids.Add(point.Id);
            vectors.Add(point.Vectors);
            payloads.Add(point.Payload);
            sparse.Add(point.Sparse);
            anySparse |= point.Sparse is { Count: > 0 };
        }

        return ids.Count == 0 ? null : new WalOperation(WalOperationKind.Upsert, ids, vectors, payloads, Sparse: anySparse ? sparse : null);
    }

    private static WalOperation? ResolveUpdateVectors(CollectionState current, UpdateVectorsOperation update)
    {
        var ids = new List<PointId>(update.Points.Count);
        var vectors = new List<IReadOnlyDictionary<string, float[]>>(update.Points.Count);
        var sparse = new List<IReadOnlyDictionary<string, SparseVector>?>(update.Points.Count);
        var anySparse = false;
        foreach (var point in update.Points)
        {
            if (!current.TryGetOffset(point.Id, out var offset))
            {
                throw VectorizerException.PointNotFound(point.Id.ToString());
            }

            if (update.UpdateFilter is { } filter && !FilterEvaluator.Matches(filter, current, offset))
            {
                continue;
            }

            ids.Add(point.Id);
            vectors.Add(point.Vectors);
            sparse.Add(point.Sparse);
            anySparse |= point.Sparse is { Count: > 0 };
        }

        return ids.Count == 0 ? null : new WalOperation(WalOperationKind.UpdateVectors, ids, vectors, Sparse: anySparse ? sparse : null);
    }

    /// <summary>The ids a selector names: explicit ids (all must exist when <paramref name="requireExisting"/>), filtered.</summary>
    private static List<PointId> SelectIds(CollectionState current, PointSelector selector, bool requireExisting)
    {
        var result = new List<PointId>();
        if (selector.Ids is { } ids)
        {
            foreach (var id in ids)
            {
                if (!current.TryGetOffset(id, out var offset))
                {
                    if (requireExisting)
                    {
                        throw VectorizerException.PointNotFound(id.ToString());
                    }

                    continue;
                }

                if (selector.Filter is null || FilterEvaluator.Matches(selector.Filter, current, offset))
                {
                    result.Add(id);
                }
            }

            return result;
        }

        if (selector.Filter is { } filter)
        {
            // A selective filter on an indexed field (the file indexer's `file_path`) is resolved from the index
            // instead of a scan of every point under the write lock.
            if (current.IndexedCandidates(filter) is { } candidates)
            {
                foreach (var offset in candidates)
                {
                    if (current.IsLive(offset) && FilterEvaluator.Matches(filter, current, offset))
                    {
                        result.Add(current.IdOf(offset));
                    }
                }

                return result;
            }

            foreach (var id in current.OrderedIds())
            {
                current.TryGetOffset(id, out var offset);
                if (FilterEvaluator.Matches(filter, current, offset))
                {
                    result.Add(id);
                }
            }
        }

        return result;
    }

    // ------------------------------------------------------------------ apply (write lock held, or recovery)

    /// <summary>Applies a resolved operation. Ids that no longer exist are skipped (replay after a delete).</summary>
    public static void Apply(CollectionState current, WalOperation operation, ulong version)
    {
        var ids = operation.Ids;
        switch (operation.Kind)
        {
            case WalOperationKind.Upsert:
                for (var i = 0; i < ids.Count; i++)
                {
                    current.Append(ids[i], version, operation.Payloads![i], operation.Vectors![i], operation.Sparse?[i]);
                }

                break;
            case WalOperationKind.Delete:
                foreach (var id in ids)
                {
                    current.Delete(id);
                }

                break;
            case WalOperationKind.SetPayload:
            case WalOperationKind.OverwritePayload:
            case WalOperationKind.DeletePayload:
            case WalOperationKind.ClearPayload:
                foreach (var id in ids)
                {
                    if (current.TryGetOffset(id, out var offset))
                    {
                        current.SetPayload(offset, NewPayload(current.PayloadObjectOf(offset), operation), version);
                    }
                }

                break;
            case WalOperationKind.UpdateVectors:
                for (var i = 0; i < ids.Count; i++)
                {
                    if (current.TryGetOffset(ids[i], out var offset))
                    {
                        var merged = current.VectorsOf(offset);
                        foreach (var (name, vector) in operation.Vectors![i])
                        {
                            merged[name] = vector;
                        }

                        var mergedSparse = current.SparseVectorsOf(offset) ?? new Dictionary<string, SparseVector>(StringComparer.Ordinal);
                        foreach (var (name, vector) in operation.Sparse?[i] ?? new Dictionary<string, SparseVector>())
                        {
                            mergedSparse[name] = vector;
                        }

                        current.Append(ids[i], version, current.PayloadObjectOf(offset), merged, mergedSparse);
                    }
                }

                break;
            case WalOperationKind.DeleteVectors:
                foreach (var id in ids)
                {
                    if (current.TryGetOffset(id, out var offset))
                    {
                        foreach (var name in operation.VectorNames!)
                        {
                            if (current.Slot(name) is { } slot)
                            {
                                current.RemoveVector(offset, slot, version);
                            }
                            else if (current.SparseSlot(name) is { } sparseSlot)
                            {
                                current.RemoveSparseVector(offset, sparseSlot, version);
                            }
                        }
                    }
                }

                break;
        }
    }

    private static PointPayload? NewPayload(PointPayload? existing, WalOperation operation) => operation.Kind switch
    {
        WalOperationKind.SetPayload => (existing ?? PointPayload.Empty).Merge(operation.Payload!, operation.Key),
        WalOperationKind.OverwritePayload => operation.Payload,
        WalOperationKind.DeletePayload => existing?.DeleteKeys(operation.Keys!),
        _ => null,
    };
}
