using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Index;
using Vectorizer.Engine.Vectors;
using Vectorizer.Engine.Vectors.Quantization;

namespace Vectorizer.Engine.Collections;

public sealed partial class Collection
{
    private const int IndexBatchNodes = 4096;

    /// <summary>Builds the HNSW graphs in the background, one bounded batch at a time.</summary>
    private async Task IndexerLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await indexSignal.WaitAsync(cancellationToken).ConfigureAwait(false);
                while (indexSignal.CurrentCount > 0)
                {
                    indexSignal.Wait(0, CancellationToken.None);
                }

                var more = true;
                while (more && !cancellationToken.IsCancellationRequested)
                {
                    await maintenanceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
                    try
                    {
                        more = IndexStep(State);
                    }
                    finally
                    {
                        maintenanceGate.Release();
                    }
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                logger.LogError(e, "Collection {Name}: indexing failed; retrying in 5 s", Name);
                await Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
                indexSignal.Release();
            }
        }
    }

    /// <summary>Indexes one batch per slot that needs it. Returns true while work remains. Caller holds the maintenance gate.</summary>
    private bool IndexStep(SegmentState current)
    {
        var more = false;
        foreach (var slot in current.Slots)
        {
            if (!NeedsIndexing(current, slot))
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
            var to = Math.Min(available, from + IndexBatchNodes);
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
                Name, slot.Name, wanted.Kind, upTo, quantized.RamBytes, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return;
        }

        quantized.ExtendTo(slot.Store, upTo);
    }

    private int IndexingThreads(VectorSlot slot)
    {
        var configured = slot.Hnsw.MaxIndexingThreads > 0 ? slot.Hnsw.MaxIndexingThreads : options.IndexingThreads;
        // Auto: leave one core to serve requests while the graph is built in the background.
        return configured > 0 ? configured : Math.Max(1, Environment.ProcessorCount - 1);
    }

    /// <summary>True when the slot has vectors the graph does not cover yet and is big enough to index.</summary>
    internal bool NeedsIndexing(SegmentState current, VectorSlot slot)
    {
        if (slot.Hnsw.M == 0 || slot.IndexedUpTo >= slot.Store.Count)
        {
            return false;
        }

        if (slot.Graph is not null)
        {
            return true;
        }

        var thresholdKb = Config.Optimizers.IndexingThreshold ?? 10000;
        return thresholdKb > 0 && (double)slot.Searchable.SetCount * slot.Dimension * sizeof(float) / 1024.0 > thresholdKb;
    }

    /// <summary>Inserts the searchable offsets in [from, to) with <paramref name="threads"/> threads sharing one counter.</summary>
    internal static void InsertRange(VectorSlot slot, HnswGraph graph, int from, int to, int threads)
    {
        var next = from - 1;
        void Work()
        {
            var context = SearchContext.Rent();
            int node;
            while ((node = Interlocked.Increment(ref next)) < to)
            {
                if (slot.Searchable.Get(node))
                {
                    InsertNode(slot, graph, node, to, context);
                }
            }

            SearchContext.Return(context);
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
    public async Task WaitForIndexingAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var current = State;
            var pending = false;
            foreach (var slot in current.Slots)
            {
                pending |= NeedsIndexing(current, slot) || slot.NeedsQuantizing;
            }

            if (!pending)
            {
                return;
            }

            indexSignal.Release();
            await Task.Delay(20).ConfigureAwait(false);
        }

        throw new TimeoutException($"Collection {Name} was not indexed within {timeout}");
    }
}
