using Vectorizer.Engine.Diagnostics;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Engine.Collections;

public sealed partial class Collection
{
    /// <summary>Reused for every WAL record (writes are serialised by the write lock).</summary>
    private System.Buffers.ArrayBufferWriter<byte> walBuffer = new(1 << 16);

    /// <summary>
    /// Validates, logs and applies one operation. Bad input throws before anything is written. With
    /// <paramref name="wait"/> the call returns after the WAL record is fsynced (shared with concurrent writers).
    /// </summary>
    public async ValueTask<UpdateResult> UpdateAsync(UpdateOperation operation, bool wait, CancellationToken cancellationToken = default)
    {
        var results = await UpdateBatchAsync([operation], wait, cancellationToken).ConfigureAwait(false);
        return results[0];
    }

    /// <summary>Applies operations in order; every one is validated before the first is written.</summary>
    public async ValueTask<IReadOnlyList<UpdateResult>> UpdateBatchAsync(IReadOnlyList<UpdateOperation> operations, bool wait, CancellationToken cancellationToken = default)
    {
        foreach (var operation in operations)
        {
            ValidateStatic(operation);
        }

        var lsns = new long[operations.Count];
        rw.EnterWriteLock();
        try
        {
            if (disposed)
            {
                throw new VectorizerException(ErrorCode.ShuttingDown, $"Collection `{Name}` is closed");
            }

            var current = State;
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
                    span?.SetTag(EngineTelemetry.CollectionTag, Name);
                    lsn = wal.Append((byte)resolved.Kind, walBuffer.WrittenSpan);
                }

                Apply(current, resolved, (ulong)lsn);
                lsns[i] = lsn;
                Interlocked.Increment(ref operationsSinceCheckpoint);
            }
        }
        finally
        {
            if (walBuffer.Capacity > 8 << 20)
            {
                // One huge request should not pin its buffer for the life of the collection.
                walBuffer = new System.Buffers.ArrayBufferWriter<byte>(1 << 16);
            }

            rw.ExitWriteLock();
        }

        indexSignal.Release();
        if (wait && lsns.Length > 0)
        {
            // The fsync that covers the last record: this call's own, or one a concurrent writer started (group commit).
            using var span = EngineTelemetry.Source.StartActivity("wal.fsync");
            span?.SetTag(EngineTelemetry.CollectionTag, Name);
            await wal.WaitDurableAsync(lsns[^1], cancellationToken).ConfigureAwait(false);
        }

        var results = new UpdateResult[lsns.Length];
        for (var i = 0; i < lsns.Length; i++)
        {
            results[i] = new UpdateResult(lsns[i], wait ? UpdateStatus.Completed : UpdateStatus.Acknowledged);
        }

        return results;
    }

    // ------------------------------------------------------------------ validation (no lock)

    private void ValidateStatic(UpdateOperation operation)
    {
        switch (operation)
        {
            case UpsertOperation upsert:
                foreach (var point in upsert.Points)
                {
                    PrepareVectors(point.Vectors);
                    CheckSparseNames(point.Sparse);
                }

                break;
            case UpdateVectorsOperation update:
                foreach (var point in update.Points)
                {
                    PrepareVectors(point.Vectors);
                    CheckSparseNames(point.Sparse);
                }

                break;
            case DeleteVectorsOperation deleteVectors:
                foreach (var name in deleteVectors.VectorNames)
                {
                    if (State.SparseSlot(name) is null)
                    {
                        _ = SlotOrThrow(State, name);
                    }
                }

                break;
        }
    }

    /// <summary>Checks names, dimensions and finiteness, then preprocesses (normalises Cosine vectors) in place.</summary>
    private void PrepareVectors(IReadOnlyDictionary<string, float[]> vectors)
    {
        foreach (var (name, vector) in vectors)
        {
            var parameters = Config.Vectors.TryGetValue(name, out var p) ? p : throw VectorizerException.VectorNameNotFound(name);
            if (vector.Length != parameters.Size)
            {
                throw VectorizerException.WrongDimension(parameters.Size, vector.Length, Config.NamedVectors ? name : null);
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


    private void CheckSparseNames(IReadOnlyDictionary<string, Sparse.SparseVector>? sparse)
    {
        if (sparse is null)
        {
            return;
        }

        var current = State;
        foreach (var name in sparse.Keys)
        {
            if (current.SparseSlot(name) is null)
            {
                throw VectorizerException.VectorNameNotFound(name);
            }
        }
    }

    private static VectorSlot SlotOrThrow(SegmentState current, string name) =>
        current.Slot(name) ?? throw VectorizerException.VectorNameNotFound(name);

    // ------------------------------------------------------------------ resolution (write lock held)

    /// <summary>Turns a request into the id-explicit form the WAL stores; null when it changes nothing.</summary>
    private WalOperation? Resolve(SegmentState current, UpdateOperation operation)
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

    private static WalOperation? ResolveUpsert(SegmentState current, UpsertOperation upsert)
    {
        var ids = new List<PointId>(upsert.Points.Count);
        var vectors = new List<IReadOnlyDictionary<string, float[]>>(upsert.Points.Count);
        var payloads = new List<PointPayload?>(upsert.Points.Count);
        var sparse = new List<IReadOnlyDictionary<string, Sparse.SparseVector>?>(upsert.Points.Count);
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

    private static WalOperation? ResolveUpdateVectors(SegmentState current, UpdateVectorsOperation update)
    {
        var ids = new List<PointId>(update.Points.Count);
        var vectors = new List<IReadOnlyDictionary<string, float[]>>(update.Points.Count);
        var sparse = new List<IReadOnlyDictionary<string, Sparse.SparseVector>?>(update.Points.Count);
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
    private static List<PointId> SelectIds(SegmentState current, PointSelector selector, bool requireExisting)
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
            if (IndexedCandidates(current, filter) is { } candidates)
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
    private static void Apply(SegmentState current, WalOperation operation, ulong version)
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

                        var mergedSparse = current.SparseVectorsOf(offset) ?? new Dictionary<string, Sparse.SparseVector>(StringComparer.Ordinal);
                        foreach (var (name, vector) in operation.Sparse?[i] ?? new Dictionary<string, Sparse.SparseVector>())
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
