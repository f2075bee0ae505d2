using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Index;
using Vectorizer.Engine.Vectors;
using Vectorizer.Engine.Vectors.Quantization;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// Builds a collection's HNSW graphs and quantized copies in the background, without the collection's lock: one
/// task that wakes on <see cref="Wake"/> and inserts batches of <see cref="BatchNodes"/> offsets per vector slot
/// (with <c>max_indexing_threads</c> threads sharing one counter) under the maintenance gate, so checkpoints and
/// vacuum see a graph between batches. Offsets are append-only and vectors at an offset never change, so reading the
/// vector stores while writers append is safe; <see cref="VectorSlot.IndexedUpTo"/> is published after each batch
/// (and after its quantized codes), and searches scan the offsets beyond it exactly.
/// </summary>
internal sealed class BackgroundIndexer
{
    /// <summary>Offsets inserted per slot between two looks at the maintenance gate.</summary>
    public const int BatchNodes = 4096;

    private readonly Collection owner;
    private readonly EngineOptions options;
    private readonly ILogger logger;
    private readonly SemaphoreSlim signal = new(0, int.MaxValue);
    private readonly CancellationTokenSource shutdown = new();
    private Task task = Task.CompletedTask;

    public BackgroundIndexer(Collection owner, EngineOptions options, ILogger logger)
    {
        this.owner = owner;
        this.options = options;
        this.logger = logger;
    }

    public void Start()
    {
        task = Task.Factory.StartNew(
            () => LoopAsync(shutdown.Token),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default).Unwrap();
        signal.Release();
    }

    /// <summary>Asks for a look at the slots (after writes, config changes, vacuum).</summary>
    public void Wake() => signal.Release();

    /// <summary>Stops the loop and waits (up to a minute) for the batch in progress.</summary>
    public void Stop()
    {
        shutdown.Cancel();
        try
        {
            task.Wait(TimeSpan.FromSeconds(60));
        }
        catch (AggregateException)
        {
            // Cancellation surfaces here; the indexer holds no state that needs saving.
        }
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
                while (signal.CurrentCount > 0)
                {
                    signal.Wait(0, CancellationToken.None);
                }

                var more = true;
                long total = -1;
                while (more && !cancellationToken.IsCancellationRequested)
                {
                    await owner.MaintenanceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
                    try
                    {
                        var current = owner.State;
                        if (total < 0 && HasPendingWork(current))
                        {
                            total = Unindexed(current);
                            owner.Optimizations.Begin("indexing", total, current.LiveCount);
                        }

                        more = Step(current);
                        owner.Optimizations.Progress(total - Unindexed(current));
                    }
                    finally
                    {
                        owner.MaintenanceGate.Release();
                    }
                }

                owner.Optimizations.Finish("indexing");
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                owner.Optimizations.Finish("indexing", e.Message);
                logger.LogError(e, "Collection {Name}: indexing failed; retrying in 5 s", owner.Name);
                await Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
                signal.Release();
            }
        }
    }

    /// <summary>Indexes one batch per slot that needs it. Returns true while work remains. Caller holds the maintenance gate.</summary>
    private bool Step(CollectionState current)
    {
        var more = false;
        foreach (var slot in current.Slots)
        {
            if (!NeedsIndexing(slot))
            {
                if (slot.NeedsQuantizing)
                {
                    Quantize(slot, slot.IndexedUpTo);
                }

                slot.PlaceLayer0(slot.IndexedUpTo);
                continue;
            }

            var graph = slot.Graph ?? (slot.Graph = slot.CreateGraph());
            var from = slot.IndexedUpTo;
            var available = slot.Store.Count;
            var to = Math.Min(available, from + BatchNodes);
            graph.EnsureCapacity(to);
            InsertRange(slot, graph, from, to, IndexingThreads(slot));
            // Codes first, then the graph's published prefix: a search never meets a node without a code.
            Quantize(slot, to);
            slot.PlaceLayer0(to);
            slot.IndexedUpTo = to;
            more |= to < slot.Store.Count;
        }

        return more;
    }

    /// <summary>
    /// Brings the slot's quantized copy up to <paramref name="upTo"/>, training a new quantizer (on the vectors
    /// present now) when there is none or the config changed. The new copy is published only once it covers the
    /// graph, so searches switch from the originals to it in one step.
    /// </summary>
    private void Quantize(VectorSlot slot, int upTo)
    {
        if (slot.Quantization is not { } wanted)
        {
            slot.Quantized = null;
            return;
        }

        var quantized = slot.Quantized;
        if (quantized is null || quantized.Settings != wanted)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            quantized = QuantizedVectors.Train(wanted, slot.Distance, slot.Store, upTo, slot.Graph?.M0 ?? 0);
            quantized.ExtendTo(slot.Store, upTo);
            slot.Quantized = quantized;
            logger.LogInformation(
                "Collection {Name}: vector `{Vector}` quantized ({Kind}, {Count} vectors, {Bytes} bytes) in {Ms:F0} ms",
                owner.Name, slot.Name, wanted.Kind, upTo, quantized.RamBytes, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return;
        }

        quantized.ExtendTo(slot.Store, upTo);
    }

    /// <summary>Threads for one slot's batches: its <c>max_indexing_threads</c>, else the engine's setting, else all cores but one.</summary>
    public int IndexingThreads(VectorSlot slot)
    {
        var configured = slot.Hnsw.MaxIndexingThreads > 0 ? slot.Hnsw.MaxIndexingThreads : options.IndexingThreads;
        // Auto: leave one core to serve requests while the graph is built in the background.
        return configured > 0 ? configured : Math.Max(1, Environment.ProcessorCount - 1);
    }

    /// <summary>True when the slot has vectors the graph does not cover yet and is big enough to index.</summary>
    public bool NeedsIndexing(VectorSlot slot)
    {
        if (slot.Hnsw.M == 0 || slot.IndexedUpTo >= slot.Store.Count)
        {
            return false;
        }

        if (slot.Graph is not null)
        {
            return true;
        }

        var thresholdKb = owner.Config.Optimizers.IndexingThreshold ?? 10000;
        return thresholdKb > 0 && (double)slot.Searchable.SetCount * slot.Dimension * sizeof(float) / 1024.0 > thresholdKb;
    }

    /// <summary>Vectors appended but not yet covered by their slot's graph, over the slots that will be indexed (see <see cref="CountUnindexed"/>).</summary>
    public long Unindexed(CollectionState current) => CountUnindexed(current).Queued;

    /// <summary>
    /// Vectors of <paramref name="current"/> in no HNSW graph (searched exactly), and how many of them this indexer has
    /// still to insert (the others are in slots below <c>indexing_threshold</c>, never indexed). Call under the read lock.
    /// </summary>
    public (long Unindexed, long Queued) CountUnindexed(CollectionState current)
    {
        long unindexed = 0, queued = 0;
        foreach (var slot in current.Slots)
        {
            var upTo = slot.Graph is null ? 0 : slot.IndexedUpTo;
            long waiting = slot.Searchable.SetCount - slot.Searchable.CountBelow(upTo);
            unindexed += waiting;
            if (NeedsIndexing(slot))
            {
                queued += waiting;
            }
        }

        return (unindexed, queued);
    }

    /// <summary>True while some slot of <paramref name="current"/> has vectors to index or codes to train.</summary>
    public bool HasPendingWork(CollectionState current)
    {
        var pending = false;
        foreach (var slot in current.Slots)
        {
            pending |= NeedsIndexing(slot) || slot.NeedsQuantizing;
        }

        return pending;
    }

    /// <summary>Inserts the searchable offsets in [from, to) with <paramref name="threads"/> threads sharing one counter.</summary>
    public static void InsertRange(VectorSlot slot, HnswGraph graph, int from, int to, int threads)
    {
        var next = from - 1;
        void Work()
        {
            // Workers are new threads each batch (LongRunning): their contexts come from the shared pool.
            var context = SearchContext.RentShared();
            int node;
            while ((node = Interlocked.Increment(ref next)) < to)
            {
                if (slot.Searchable.Get(node))
                {
                    InsertNode(slot, graph, node, to, context);
                }
            }

            SearchContext.ReturnShared(context);
        }

        threads = Math.Clamp(threads, 1, Math.Max(1, (to - from) / 64));
        if (threads == 1)
        {
            Work();
            return;
        }

        var workers = new Task[threads - 1];
        for (var t = 0; t < workers.Length; t++)
        {
            workers[t] = Task.Factory.StartNew(Work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        Work();
        Task.WaitAll(workers);
    }

    private static unsafe void InsertNode(VectorSlot slot, HnswGraph graph, int node, int limit, SearchContext context)
    {
        var vector = slot.Store.GetPointer(node);
        switch (slot.Distance)
        {
            case Distance.Euclid:
                var euclid = new DenseScorer<EuclidMetric>(slot.Store, vector);
                graph.Insert(ref euclid, node, limit, context);
                break;
            case Distance.Manhattan:
                var manhattan = new DenseScorer<ManhattanMetric>(slot.Store, vector);
                graph.Insert(ref manhattan, node, limit, context);
                break;
            default:
                var dot = new DenseScorer<DotMetric>(slot.Store, vector);
                graph.Insert(ref dot, node, limit, context);
                break;
        }
    }

    /// <summary>Blocks until the indexer has covered everything appended so far (tests and benchmarks).</summary>
    public async Task WaitUntilIdleAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            // A batch publishes its codes before it places layer 0 next to them: no work is pending then, but the
            // batch is still running. Passing the gate once waits for it.
            if (!HasPendingWork(owner.State) && await owner.MaintenanceGate.WaitAsync(TimeSpan.FromTicks(Math.Max(0, (deadline - DateTime.UtcNow).Ticks))).ConfigureAwait(false))
            {
                owner.MaintenanceGate.Release();
                if (!HasPendingWork(owner.State))
                {
                    return;
                }
            }

            signal.Release();
            await Task.Delay(20).ConfigureAwait(false);
        }

        throw new TimeoutException($"Collection {owner.Name} was not indexed within {timeout}");
    }
}
