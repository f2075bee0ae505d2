using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Storage;
using Vectorizer.Engine.Vectors;
using Xunit.Abstractions;

namespace Vectorizer.Engine.Tests;

/// <summary>
/// Durability proven against a simulated device (<see cref="SimulatedDisk"/>): thousands of cycles of random writes
/// (every WAL operation kind, <c>wait=true</c> and <c>wait=false</c>), checkpoints, WAL rotations, vacuums, alias and
/// config changes, each ended by a power cut at a random I/O call (dropping what was not fsynced, tearing the last
/// write), a killed process, or a graceful stop; then a reboot. After every reboot: the collection opens; every
/// operation acknowledged with <c>wait=true</c> (or covered by a checkpoint) is there; what is there is exactly a
/// prefix of the operations issued (nothing half-applied, nothing out of order); a killed process loses nothing it
/// acknowledged; acknowledged aliases and configs are there.
/// <para>
/// Replay a failure with <c>VECTORIZER_POWERCUT_SEED</c> (printed on failure); <c>VECTORIZER_POWERCUT_CYCLES</c>
/// sets the number of cycles (default <see cref="DefaultCycles"/>, about a minute on two cores).
/// </para>
/// </summary>
[Trait("Category", "Slow")]
public class PowerCutTests(ITestOutputHelper output)
{
    public const int DefaultCycles = 10000;

    [Fact]
    public async Task AcknowledgedWritesSurviveRandomPowerCuts()
    {
        var seedText = Environment.GetEnvironmentVariable("VECTORIZER_POWERCUT_SEED");
        var seed = seedText is { Length: > 0 } ? int.Parse(seedText, CultureInfo.InvariantCulture) : Random.Shared.Next();
        var cyclesText = Environment.GetEnvironmentVariable("VECTORIZER_POWERCUT_CYCLES");
        var cycles = cyclesText is { Length: > 0 } ? int.Parse(cyclesText, CultureInfo.InvariantCulture) : DefaultCycles;
        var run = new PowerCutRun(seed);
        var stopwatch = Stopwatch.StartNew();
        try
        {
            await run.RunAsync(cycles);
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException(
                $"Power-cut run failed at cycle {run.Cycle} of seed {seed}; replay with VECTORIZER_POWERCUT_SEED={seed} VECTORIZER_POWERCUT_CYCLES={run.Cycle + 1}\n" +
                $"cycle before: {run.PreviousTrace}\nlast cycle: {run.Trace}\n{e}");
        }

        output.WriteLine($"seed {seed}: {cycles} cycles in {stopwatch.Elapsed.TotalSeconds:F1} s; {run.Summary}");
    }
}

/// <summary>One seeded run of the power-cut test (see <see cref="PowerCutTests"/>).</summary>
internal sealed class PowerCutRun(int seed)
{
    private const string Name = "c";
    private const int IdRange = 160;

    private SimulatedDisk disk = new();
    private readonly EngineOptions options = new()
    {
        DataDir = "/sim/data",
        AutoSave = new AutoSaveOptions { Enabled = false },
        MaintenanceInterval = TimeSpan.FromHours(1),
        IndexingThreads = 1,
        WalSegmentBytes = 64 << 10,
    };

    // What the test knows: the state at the last reset point, the operations issued since, how many of them are
    // known durable, and how many were acknowledged.
    private Dictionary<ulong, ModelPoint> baseState = [];
    private readonly List<Op> issued = [];
    private int durable;
    private int acknowledged;
    private bool collectionCreated;
    private readonly SortedSet<string> aliases = new(StringComparer.Ordinal);
    private int? ef;
    private Action? inFlightMeta;
    private int aliasCounter;

    private long segments;
    private int powerCuts, crashes, graceful, checkpoints, vacuums, lostUnsynced, writes, syncedWrites, fresh, recreates;

    public int Cycle { get; private set; }

    /// <summary><c>VECTORIZER_POWERCUT_DEBUG=1</c>: every cycle's steps and the files after it, on standard output.</summary>
    private static bool Debug => Environment.GetEnvironmentVariable("VECTORIZER_POWERCUT_DEBUG") == "1";

    public string Trace { get; private set; } = "";

    public string PreviousTrace { get; private set; } = "";

    public string Summary =>
        $"{fresh} fresh devices, {recreates} collections deleted and recreated, {segments} WAL segments created, " +
        $"{writes} writes ({syncedWrites} with wait=true), {checkpoints} checkpoints, {vacuums} vacuums (new generations), {powerCuts} power cuts, " +
        $"{crashes} killed processes, {graceful} graceful stops; {lostUnsynced} reboots lost unsynced operations";

    public async Task RunAsync(int cycles)
    {
        for (Cycle = 0; Cycle < cycles; Cycle++)
        {
            await CycleAsync(new Random(unchecked((seed * 1_000_003) + Cycle)));
        }

        segments += disk.WalSegmentsCreated;
    }

    private async Task CycleAsync(Random random)
    {
        if (random.Next(40) == 0)
        {
            segments += disk.WalSegmentsCreated;
            // A new, empty device now and then: creating the data directory and the collection are paths too.
            disk = new SimulatedDisk();
            baseState = [];
            issued.Clear();
            durable = acknowledged = 0;
            collectionCreated = false;
            aliases.Clear();
            ef = null;
            inFlightMeta = null;
            crashedLast = false;
            fresh++;
        }

        disk.Random = new Random(random.Next());
        PreviousTrace = Trace;
        var trace = new List<string>();
        var storage = disk.Boot();
        var manager = CollectionManager.Open(options, NullLoggerFactory.Instance, storage);
        try
        {
            Verify(manager, trace);
            var end = random.Next(100);
            var mode = end < 60 ? "cut-armed" : end < 72 ? "cut-after" : end < 88 ? "crash-armed" : "graceful";
            trace.Add(mode);
            if (mode == "cut-armed")
            {
                disk.ArmPowerCut(random.Next(1, 120));
            }
            else if (mode == "crash-armed")
            {
                disk.ArmCrash(random.Next(1, 120));
            }

            var steps = random.Next(1, 40);
            try
            {
                if (!collectionCreated)
                {
                    trace.Add("create");
                    manager.Create(Name, Config());
                    collectionCreated = true;
                }

                for (var step = 0; step < steps; step++)
                {
                    await StepAsync(manager, random, trace);
                }
            }
            catch (Exception e) when (disk.IsDown && e is IOException or Errors.VectorizerException or ObjectDisposedException)
            {
                trace.Add($"down: {e.GetType().Name}: {e.Message}");
            }

            if (mode == "graceful")
            {
                manager.Dispose();
                durable = issued.Count;
                graceful++;
                disk.PowerCut();
            }
            else if (mode == "crash-armed")
            {
                crashes++;
                disk.Crash();
            }
            else
            {
                powerCuts++;
                disk.PowerCut();
            }

            crashedLast = mode == "crash-armed";
        }
        finally
        {
            Trace = string.Join(" | ", trace);
            if (Debug)
            {
                Console.WriteLine($"cycle {Cycle}: {Trace}");
                foreach (var (path, bytes) in disk.Files())
                {
                    Console.WriteLine($"    {path} {bytes.Length}");
                }
            }
            try
            {
                manager.Dispose();
            }
            catch (Exception e) when (disk.IsDown && e is IOException or Errors.VectorizerException or ObjectDisposedException or AggregateException)
            {
            }
        }
    }

    private bool crashedLast;

    private CollectionConfig Config() => new()
    {
        Vectors = new Dictionary<string, VectorParams>(StringComparer.Ordinal)
        {
            ["a"] = new() { Size = 4, Distance = Distance.Dot },
            ["b"] = new() { Size = 2, Distance = Distance.Euclid },
        },
        NamedVectors = true,
        Hnsw = new HnswConfig { M = 4, EfConstruct = 8, FullScanThreshold = 0, MaxIndexingThreads = 1 },
        // No HNSW indexing: the background indexer's timing would change which files a checkpoint writes, and a seed
        // must replay the same I/O calls (graph files go through the same checksummed writes as points.bin).
        Optimizers = new OptimizersConfig { IndexingThreshold = 0, VacuumMinVectorNumber = 100, DeletedThreshold = 0.2 },
        Wal = new WalConfig { WalCapacityMb = 1 },
    };

    // ------------------------------------------------------------------ steps

    private async Task StepAsync(CollectionManager manager, Random random, List<string> trace)
    {
        var collection = manager.Get(Name);
        var roll = random.Next(100);
        if (roll < 74)
        {
            var op = NextOp(random);
            var wait = random.Next(2) == 0;
            trace.Add($"{op.Kind}{(wait ? "!" : "")}");
            issued.Add(op);
            await collection.UpdateAsync(op.ToEngine(), wait);
            writes++;
            acknowledged = issued.Count;
            if (wait)
            {
                syncedWrites++;
                durable = issued.Count;
            }
        }
        else if (roll < 83)
        {
            trace.Add("checkpoint");
            collection.Checkpoint();
            checkpoints++;
            durable = issued.Count;
        }
        else if (roll < 89)
        {
            trace.Add("vacuum");
            var generation = collection.State.Generation;
            collection.Vacuum();
            vacuums += collection.State.Generation == generation ? 0 : 1;
        }
        else if (roll < 90 && random.Next(8) == 0)
        {
            // Delete and create again: the trash, and a create over a name just freed.
            trace.Add("recreate");
            var op = new RecreateOp();
            issued.Add(op);
            inFlightMeta = aliases.Clear;
            manager.Delete(Name);
            aliases.Clear();
            manager.Create(Name, Config());
            ef = null;
            inFlightMeta = null;
            recreates++;
            durable = acknowledged = issued.Count;
        }
        else if (roll < 96)
        {
            var before = new SortedSet<string>(aliases, StringComparer.Ordinal);
            if (aliases.Count > 0 && random.Next(2) == 0)
            {
                var alias = aliases.ElementAt(random.Next(aliases.Count));
                trace.Add($"unalias {alias}");
                inFlightMeta = () => aliases.Remove(alias);
                manager.UpdateAliases([new DeleteAlias(alias)]);
                aliases.Remove(alias);
            }
            else
            {
                var alias = "al" + (aliasCounter++).ToString(CultureInfo.InvariantCulture);
                trace.Add($"alias {alias}");
                inFlightMeta = () => aliases.Add(alias);
                manager.UpdateAliases([new CreateAlias(Name, alias)]);
                aliases.Add(alias);
            }

            inFlightMeta = null;
        }
        else
        {
            var value = random.Next(16, 512);
            trace.Add($"ef {value}");
            inFlightMeta = () => ef = value;
            collection.UpdateConfig(c => c with { Hnsw = c.Hnsw with { Ef = value } });
            ef = value;
            inFlightMeta = null;
        }
    }

    private Op NextOp(Random random)
    {
        var current = StateAt(issued.Count);
        var existing = current.Keys.Order().ToList();
        ulong[] Existing(int max) =>
            existing.Count == 0 ? [] : [.. Enumerable.Range(0, random.Next(1, max + 1)).Select(_ => existing[random.Next(existing.Count)]).Distinct()];
        float[] Vector(int size) => [.. Enumerable.Range(0, size).Select(_ => (float)Math.Round((random.NextDouble() * 2) - 1, 3))];

        var kind = existing.Count == 0 ? 0 : random.Next(10);
        return kind switch
        {
            <= 2 => new UpsertOp([.. Enumerable.Range(0, random.Next(1, 6)).Select(_ => (ulong)random.Next(IdRange)).Distinct().Select(id => new ModelPoint(
                id,
                Vector(4),
                random.Next(4) == 0 ? null : Vector(2),
                random.Next(5) == 0 ? null : $$"""{"v": {{random.Next(1000)}}, "blob": "{{new string('x', random.Next(8) == 0 ? random.Next(2_000, 10_000) : random.Next(0, 300))}}"}"""))]),
            3 => new DeleteOp([.. Enumerable.Range(0, random.Next(1, 4)).Select(_ => (ulong)random.Next(IdRange)).Distinct()]),
            4 => new SetPayloadOp(Existing(3), random.Next(50)),
            5 => new OverwritePayloadOp(Existing(2), random.Next(50)),
            6 => new DeletePayloadOp(Existing(3)),
            7 => new ClearPayloadOp(Existing(2)),
            8 => new UpdateVectorsOp(Existing(3), Vector(4)),
            _ => new DeleteVectorsOp(Existing(2)),
        };
    }

    private Dictionary<ulong, ModelPoint> StateAt(int count)
    {
        var state = new Dictionary<ulong, ModelPoint>(baseState);
        for (var i = 0; i < count; i++)
        {
            issued[i].Apply(state);
        }

        return state;
    }

    // ------------------------------------------------------------------ checks after a reboot

    private void Verify(CollectionManager manager, List<string> trace)
    {
        if (manager.Failed.Count > 0)
        {
            throw new InvalidOperationException($"the collection did not open: {manager.Failed[0].Reason}");
        }

        var collection = manager.TryGet(Name);
        if (collection is null)
        {
            var recreating = issued.Count > acknowledged && issued[^1] is RecreateOp;
            if (collectionCreated && !recreating)
            {
                throw new InvalidOperationException("the acknowledged collection is gone");
            }

            collectionCreated = false;
            aliases.Clear();
            ef = null;
            inFlightMeta = null;
            baseState = [];
            issued.Clear();
            durable = acknowledged = 0;
            return;
        }

        collectionCreated = true;
        var actual = Read(collection);
        var low = crashedLast ? acknowledged : durable;
        var match = -1;
        for (var k = low; k <= issued.Count; k++)
        {
            if (Same(StateAt(k), actual))
            {
                match = k;
                break;
            }
        }

        if (match < 0)
        {
            throw new InvalidOperationException(
                $"the state after reboot is not the state after any prefix of {low}..{issued.Count} of the {issued.Count} operations issued " +
                $"({durable} known durable, {acknowledged} acknowledged): {Describe(StateAt(low), actual)}");
        }

        if (match < acknowledged)
        {
            lostUnsynced++;
        }

        // Aliases and config: what was acknowledged, or that with the interrupted change applied.
        var actualAliases = new SortedSet<string>(manager.ListAliases().Select(a => a.AliasName), StringComparer.Ordinal);
        var actualEf = collection.Config.Hnsw.Ef;
        if (match > 0 && issued[match - 1] is RecreateOp && match > acknowledged)
        {
            // The interrupted recreate got through: a new collection, with the new collection's config.
            ef = null;
        }

        if (!actualAliases.SetEquals(aliases) || actualEf != ef)
        {
            inFlightMeta?.Invoke();
            if (!actualAliases.SetEquals(aliases) || actualEf != ef)
            {
                throw new InvalidOperationException($"aliases {string.Join(",", actualAliases)} / ef {actualEf}, acknowledged {string.Join(",", aliases)} / ef {ef}");
            }
        }

        inFlightMeta = null;
        if (crashedLast)
        {
            // A killed process: what it wrote is still only in the page cache; keep the operations as not yet durable.
            issued.RemoveRange(match, issued.Count - match);
            acknowledged = match;
        }
        else
        {
            baseState = actual.ToDictionary(p => p.Key, p => p.Value);
            issued.Clear();
            durable = acknowledged = 0;
        }

        trace.Add($"verified {actual.Count} points (prefix {match})");
    }

    private static Dictionary<ulong, ModelPoint> Read(Collection collection)
    {
        var points = collection.Scroll(new ScrollRequest { Limit = 100_000, WithPayload = PayloadSelector.All, WithVector = VectorSelector.All }).Points;
        var state = new Dictionary<ulong, ModelPoint>();
        foreach (var point in points)
        {
            var payload = point.Payload is { IsEmpty: false } p ? p.Root.GetRawText() : null;
            state[point.Id.Number] = new ModelPoint(
                point.Id.Number,
                point.Vectors!["a"],
                point.Vectors.TryGetValue("b", out var b) ? b : null,
                payload);
        }

        return state;
    }

    private static bool Same(Dictionary<ulong, ModelPoint> expected, Dictionary<ulong, ModelPoint> actual) =>
        expected.Count == actual.Count && expected.All(e => actual.TryGetValue(e.Key, out var a) && e.Value.SameAs(a));

    private static string Describe(Dictionary<ulong, ModelPoint> expected, Dictionary<ulong, ModelPoint> actual)
    {
        var missing = expected.Keys.Except(actual.Keys).Take(5);
        var extra = actual.Keys.Except(expected.Keys).Take(5);
        var different = expected.Keys.Intersect(actual.Keys).Where(k => !expected[k].SameAs(actual[k])).Take(5);
        return $"missing {string.Join(",", missing)}; unexpected {string.Join(",", extra)}; different {string.Join(",", different)}";
    }

    // ------------------------------------------------------------------ the model

    internal sealed record ModelPoint(ulong Id, float[] A, float[]? B, string? Payload)
    {
        public bool SameAs(ModelPoint other) =>
            A.AsSpan().SequenceEqual(other.A) &&
            (B is null ? other.B is null : other.B is not null && B.AsSpan().SequenceEqual(other.B)) &&
            JsonNode.DeepEquals(Payload is null ? null : JsonNode.Parse(Payload), other.Payload is null ? null : JsonNode.Parse(other.Payload));

        public PointStruct ToPoint() => new(
            PointId.FromNumber(Id),
            B is null
                ? new Dictionary<string, float[]> { ["a"] = [.. A] }
                : new Dictionary<string, float[]> { ["a"] = [.. A], ["b"] = [.. B] },
            Payload is null ? null : PointPayload.FromUtf8(System.Text.Encoding.UTF8.GetBytes(Payload)));
    }

    private static string? WithPayload(string? payload, Action<JsonObject> change)
    {
        var node = payload is null ? new JsonObject() : JsonNode.Parse(payload)!.AsObject();
        change(node);
        return node.Count == 0 ? null : node.ToJsonString();
    }

    private static PointSelector Ids(ulong[] ids) => PointSelector.ForIds([.. ids.Select(PointId.FromNumber)]);

    internal abstract record Op(string Kind)
    {
        public abstract UpdateOperation ToEngine();

        public abstract void Apply(Dictionary<ulong, ModelPoint> state);
    }

    private sealed record UpsertOp(ModelPoint[] Points) : Op("upsert")
    {
        public override UpdateOperation ToEngine() => new UpsertOperation([.. Points.Select(p => p.ToPoint())]);

        public override void Apply(Dictionary<ulong, ModelPoint> state)
        {
            foreach (var point in Points)
            {
                state[point.Id] = point;
            }
        }
    }

    private sealed record DeleteOp(ulong[] Ids) : Op("delete")
    {
        public override UpdateOperation ToEngine() => new DeletePointsOperation(PowerCutRun.Ids(Ids));

        public override void Apply(Dictionary<ulong, ModelPoint> state)
        {
            foreach (var id in Ids)
            {
                state.Remove(id);
            }
        }
    }

    private sealed record SetPayloadOp(ulong[] Ids, int Tag) : Op("set_payload")
    {
        public override UpdateOperation ToEngine() =>
            new SetPayloadOperation(PointPayload.FromUtf8(System.Text.Encoding.UTF8.GetBytes($$"""{"tag": {{Tag}}}""")), PowerCutRun.Ids(Ids), null);

        public override void Apply(Dictionary<ulong, ModelPoint> state)
        {
            foreach (var id in Ids)
            {
                state[id] = state[id] with { Payload = WithPayload(state[id].Payload, o => o["tag"] = Tag) };
            }
        }
    }

    private sealed record OverwritePayloadOp(ulong[] Ids, int Value) : Op("overwrite_payload")
    {
        public override UpdateOperation ToEngine() =>
            new OverwritePayloadOperation(PointPayload.FromUtf8(System.Text.Encoding.UTF8.GetBytes($$"""{"o": {{Value}}}""")), PowerCutRun.Ids(Ids));

        public override void Apply(Dictionary<ulong, ModelPoint> state)
        {
            foreach (var id in Ids)
            {
                state[id] = state[id] with { Payload = $$"""{"o": {{Value}}}""" };
            }
        }
    }

    private sealed record DeletePayloadOp(ulong[] Ids) : Op("delete_payload")
    {
        public override UpdateOperation ToEngine() => new DeletePayloadOperation([JsonPath.Parse("blob")], PowerCutRun.Ids(Ids));

        public override void Apply(Dictionary<ulong, ModelPoint> state)
        {
            foreach (var id in Ids)
            {
                if (state[id].Payload is { } payload)
                {
                    state[id] = state[id] with { Payload = WithPayload(payload, o => o.Remove("blob")) };
                }
            }
        }
    }

    private sealed record ClearPayloadOp(ulong[] Ids) : Op("clear_payload")
    {
        public override UpdateOperation ToEngine() => new ClearPayloadOperation(PowerCutRun.Ids(Ids));

        public override void Apply(Dictionary<ulong, ModelPoint> state)
        {
            foreach (var id in Ids)
            {
                state[id] = state[id] with { Payload = null };
            }
        }
    }

    private sealed record UpdateVectorsOp(ulong[] Ids, float[] A) : Op("update_vectors")
    {
        public override UpdateOperation ToEngine() =>
            new UpdateVectorsOperation([.. Ids.Select(id => new PointVectors(PointId.FromNumber(id), new Dictionary<string, float[]> { ["a"] = [.. A] }))]);

        public override void Apply(Dictionary<ulong, ModelPoint> state)
        {
            foreach (var id in Ids)
            {
                state[id] = state[id] with { A = A };
            }
        }
    }

    /// <summary>The collection deleted and created again (not a WAL operation: done by <see cref="StepAsync"/>).</summary>
    private sealed record RecreateOp() : Op("recreate")
    {
        public override UpdateOperation ToEngine() => throw new InvalidOperationException("not a point operation");

        public override void Apply(Dictionary<ulong, ModelPoint> state) => state.Clear();
    }

    private sealed record DeleteVectorsOp(ulong[] Ids) : Op("delete_vectors")
    {
        public override UpdateOperation ToEngine() => new DeleteVectorsOperation(PowerCutRun.Ids(Ids), ["b"]);

        public override void Apply(Dictionary<ulong, ModelPoint> state)
        {
            foreach (var id in Ids)
            {
                state[id] = state[id] with { B = null };
            }
        }
    }
}
