using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Storage;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Embeddings;
using Vectorizer.Ingestion.Files;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Hosting;

namespace Vectorizer.Cli;

/// <summary>
/// <c>vectorizer index PATH --collection C</c>: indexes a directory into a collection in-process (the engine opened
/// on the data directory, no server), resumably, with a live progress bar; <c>--watch</c> then keeps it in step.
/// </summary>
internal static class IndexCommand
{
    private static readonly Argument<DirectoryInfo> PathArgument = new("PATH") { Description = "Directory to index (recursively)" };
    private static readonly Option<string> CollectionOption = new("--collection") { Description = "Target collection (created when missing)", Required = true };
    private static readonly Option<string?> ProviderOption = new("--provider")
    {
        Description = "Embedders for a new collection: local (the built-in all-MiniLM-L6-v2 model + sparse bm25, the default), " +
            "hash (dense hash + sparse bm25: words only, fast), bm25 (sparse only), openai (dense openai + sparse bm25)",
    };

    private static readonly Option<int?> ThreadsOption = new("--threads") { Description = "local: ONNX Runtime threads (default: embedding.threads, else one per core)" };

    private static readonly Option<int?> DimensionOption = new("--dimension") { Description = "hash: vector size (default 512)" };
    private static readonly Option<string?> BaseUrlOption = new("--base-url") { Description = "openai: {base-url}/embeddings is called" };
    private static readonly Option<string?> ModelOption = new("--model") { Description = "openai: the model" };
    private static readonly Option<string?> ApiKeyEnvOption = new("--api-key-env") { Description = "openai: the environment variable holding the API key" };
    private static readonly Option<int?> DimensionsOption = new("--dimensions") { Description = "openai: requested vector size" };
    private static readonly Option<double?> CostOption = new("--cost-per-1k-tokens") { Description = "openai: price, for the cost shown" };
    private static readonly Option<bool> WatchOption = new("--watch") { Description = "After indexing, keep watching PATH and index changes (Ctrl-C stops)" };
    private static readonly Option<string[]> ExcludeOption = new("--exclude")
    {
        Description = "Glob of paths to leave out, relative to PATH (repeatable; added to **/.git/**, **/node_modules/**, **/__pycache__/**, **/bin/**, **/obj/**)",
        AllowMultipleArgumentsPerToken = false,
    };

    private static readonly Option<string[]> IncludeExtOption = new("--include-ext") { Description = "Only these extensions, e.g. .md,.cs (repeatable)" };
    private static readonly Option<long?> MaxFileSizeOption = new("--max-file-size") { Description = "Skip larger files, in bytes (default 10485760)" };
    private static readonly Option<int?> CheckpointEveryOption = new("--checkpoint-every") { Description = "Files between checkpoint writes (default 100)" };
    private static readonly Option<double?> MaxCostOption = new("--max-cost")
    {
        Description = "Most this run's embedding may cost, resumes included (default: embedding.max_cost; 0: no limit). " +
            "When the next batch would pass it, the run stops with a checkpoint: run again with a higher limit to resume",
    };

    private static readonly Option<string?> UrlOption = new("--url")
    {
        Description = "Send the work to a running server (http://host:port): files are read here and indexed there with the collection's embedders. " +
            "Without it, a data directory held by a server that answers at the configured address is indexed through that server",
    };

    private static readonly Option<bool> PlainOption = new("--plain") { Description = "Plain progress lines even on a terminal" };

    public static Command Create(Option<string?> configOption, Option<string?> dataDirOption)
    {
        var command = new Command("index", "Index the files of a directory into a collection (in-process, resumable; --watch keeps it up to date)");
        command.Add(PathArgument);
        command.Add(CollectionOption);
        command.Add(ProviderOption);
        command.Add(DimensionOption);
        command.Add(ThreadsOption);
        command.Add(BaseUrlOption);
        command.Add(ModelOption);
        command.Add(ApiKeyEnvOption);
        command.Add(DimensionsOption);
        command.Add(CostOption);
        command.Add(MaxCostOption);
        command.Add(configOption);
        command.Add(dataDirOption);
        command.Add(WatchOption);
        command.Add(ExcludeOption);
        command.Add(IncludeExtOption);
        command.Add(MaxFileSizeOption);
        command.Add(CheckpointEveryOption);
        command.Add(PlainOption);
        command.Add(UrlOption);
        command.SetAction((parse, _) => RunAsync(parse, configOption, dataDirOption));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, Option<string?> configOption, Option<string?> dataDirOption)
    {
        var dataDir = parse.GetValue(dataDirOption);
        if (!VectorizerCli.TryLoad(parse.GetValue(configOption), dataDir is null ? null : new Dictionary<string, string?> { ["server:data_dir"] = dataDir }, out var settings, out _))
        {
            return 2;
        }

        var directory = parse.GetValue(PathArgument)!;
        if (!directory.Exists)
        {
            Console.Error.WriteLine($"error: `{directory.FullName}` is not a directory");
            return 2;
        }

        var collectionName = parse.GetValue(CollectionOption)!;
        var maxCost = parse.GetValue(MaxCostOption) ?? settings.Embedding.MaxCost;
        if (maxCost < 0 || !double.IsFinite(maxCost))
        {
            Console.Error.WriteLine("error: --max-cost: must be 0 (no limit) or more");
            return 2;
        }

        FileIndexerOptions options;
        try
        {
            CollectionNames.Validate(collectionName);
            options = new FileIndexerOptions
            {
                Roots = [FileIndexerOptions.NormalizeRoot(directory.FullName)],
                Exclude = [.. FileIndexerOptions.DefaultExcludePatterns.Concat(parse.GetValue(ExcludeOption) ?? []).Select(Glob.Parse)],
                IncludeExtensions = FileIndexerOptions.ParseExtensions(parse.GetValue(IncludeExtOption) ?? []),
                MaxFileSize = parse.GetValue(MaxFileSizeOption) ?? FileIndexerOptions.DefaultMaxFileSize,
                DefaultCollection = collectionName,
                NewCollectionEmbedding = Embedding(parse, settings),
            };
            if (options.MaxFileSize < 1)
            {
                throw VectorizerException.BadRequest("--max-file-size: must be at least 1 byte");
            }
        }
        catch (VectorizerException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 2;
        }

        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var loggers = LoggerFactory.Create(logging => VectorizerHost.ConfigureLogging(logging, new LoggingSection { Level = "warn" }));
        var logger = loggers.CreateLogger("Vectorizer.Index");
        // A remote run reads the files here: the local data directory (when the root holds it) is still never sent.
        options = options with { DataDirectory = Path.GetFullPath(settings.ToEngineOptions().DataDir) };
        if (parse.GetValue(UrlOption) is { } url)
        {
            return await RemoteAsync(parse, url, RemoteApiKey(settings), options, maxCost, stop.Token).ConfigureAwait(false);
        }

        var engineOptions = settings.ToEngineOptions();
        DataDirectoryLock dataLock;
        try
        {
            // One process per data directory: a running server (or another index run) would see writes it did not make.
            dataLock = DataDirectoryLock.Acquire(engineOptions.DataDir);
        }
        catch (VectorizerException e) when (e.Code == ErrorCode.DataDirectoryInUse)
        {
            // Held by a server? If it answers at the configured address, the work goes to it.
            var configured = ConfiguredUrl(settings);
            if (await ServesAsync(configured, RemoteApiKey(settings), engineOptions.DataDir, stop.Token).ConfigureAwait(false))
            {
                Console.WriteLine($"The data directory {engineOptions.DataDir} is in use by the server at {configured}: indexing through it (--url)");
                return await RemoteAsync(parse, configured, RemoteApiKey(settings), options, maxCost, stop.Token).ConfigureAwait(false);
            }

            Console.Error.WriteLine("error: " + e.Message);
            return 2;
        }
        catch (VectorizerException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 2;
        }

        using var heldLock = dataLock;
        using var manager = CollectionManager.Open(engineOptions, loggers);
        using var ingestion = new IngestionService(manager.DataDirectory, loggers, options: settings.ToIngestionOptions() with
        {
            LocalThreads = parse.GetValue(ThreadsOption) ?? settings.Embedding.Threads,
        });
        var indexer = new FileIndexer(manager, ingestion, options, logger);
        Collection collection;
        try
        {
            var existed = manager.TryGet(collectionName) is not null;
            collection = indexer.EnsureCollection(collectionName);
            if (Vectorizer.Ingestion.Health.SourceRoot.Read(collection) is null)
            {
                // So that `vectorizer health-check --collection C` knows where the files are without --root.
                Vectorizer.Ingestion.Health.SourceRoot.Save(collection, options.Roots[0]);
            }
            var embedders = ingestion.For(collection).Config;
            if (existed && parse.GetValue(ProviderOption) is not null && embedders.ToJson().GetRawText() != options.NewCollectionEmbedding.ToJson().GetRawText())
            {
                Console.Error.WriteLine($"warning: collection `{collectionName}` exists; it keeps its own embedders ({Describe(embedders)}), --provider is ignored");
            }

            Console.WriteLine($"Indexing {options.Roots[0]} into `{collectionName}` ({Describe(embedders)}; data: {manager.DataDirectory})");
        }
        catch (VectorizerException e)
        {
            Console.Error.WriteLine($"error: collection `{collectionName}`: {e.Message}");
            return 2;
        }

        var paid = ingestion.For(collection).Config.Dense?.Provider == "openai";
        var problems = new List<FileIndexResult>();
        Func<CancellationToken, Task<IndexRunProgress>> Run(Action<IndexRunProgress> progress) => new FileIndexRun(indexer, options.Roots[0], IndexCheckpoint.PathFor(collection.Paths.Root))
        {
            Collection = collectionName,
            CheckpointEvery = Math.Max(1, parse.GetValue(CheckpointEveryOption) ?? 100),
            Problem = problems.Add,
            Progress = progress,
            MaxCost = maxCost,
        }.RunAsync;
        IndexRunProgress result;
        try
        {
            var interactive = !Console.IsOutputRedirected && !parse.GetValue(PlainOption) && AnsiConsole.Profile.Capabilities.Interactive;
            result = interactive ? await WithProgressBarAsync(Run, paid, stop.Token).ConfigureAwait(false) : await WithLinesAsync(Run, paid, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine("Interrupted: the checkpoint is saved; run the same command again to resume.");
            return 130;
        }

        PrintProblems(problems);
        PrintSummary(result, paid);
        if (StoppedByCost(result))
        {
            return 3;
        }

        if (!parse.GetValue(WatchOption))
        {
            return result.Failed > 0 ? 1 : 0;
        }

        // The watcher's own first scan (hash-skip: cheap) catches what changed while the run was going.
        var stats = new FileWatcherStats();
        await using (var watcher = new FileWatcher(indexer, new FileWatcherOptions { AutoDiscovery = true }, stats, logger) { Processed = PrintChange })
        {
            watcher.Start();
            Console.WriteLine($"Watching {options.Roots[0]} (Ctrl-C to stop)");
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        Console.WriteLine($"Stopped watching: {stats.FilesIndexed} files indexed, {stats.FilesRemoved} removed, {stats.FilesSkipped} skipped, {stats.FilesFailed} failed");
        return 0;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true; // shut down here: checkpoint, flush the WALs, close the engine
            stop.Cancel();
        }
    }

    /// <summary>--provider (with its options) when given, else the config's <c>embedding:</c> section, else dense local + sparse bm25.</summary>
    private static EmbeddingConfig Embedding(ParseResult parse, VectorizerSettings settings)
    {
        var provider = parse.GetValue(ProviderOption);
        if (provider is null)
        {
            return settings.Embedding.ToEmbeddingConfig() ?? FileIndexerOptions.DefaultEmbedding;
        }

        var section = new JsonObject();
        switch (provider)
        {
            case "local":
                section["dense"] = new JsonObject { ["provider"] = "local" };
                break;
            case "hash":
                section["dense"] = new JsonObject { ["provider"] = "hash", ["dimension"] = parse.GetValue(DimensionOption) ?? HashEmbeddingGenerator.DefaultDimension };
                break;
            case "openai":
                if (parse.GetValue(BaseUrlOption) is null || parse.GetValue(ModelOption) is null)
                {
                    throw VectorizerException.BadRequest("--provider openai needs --base-url and --model");
                }

                section["dense"] = new JsonObject
                {
                    ["provider"] = "openai",
                    ["base_url"] = parse.GetValue(BaseUrlOption),
                    ["model"] = parse.GetValue(ModelOption),
                    ["api_key_env"] = parse.GetValue(ApiKeyEnvOption),
                    ["dimensions"] = parse.GetValue(DimensionsOption),
                    ["cost_per_1k_tokens"] = parse.GetValue(CostOption),
                };
                break;
            case "bm25":
                break;
            default:
                throw VectorizerException.BadRequest($"--provider: unknown provider `{provider}`, expected one of `local`, `hash`, `bm25`, `openai`");
        }

        section["sparse"] = new JsonObject { ["provider"] = "bm25" };
        return EmbeddingConfig.Parse(JsonSerializer.SerializeToElement(section), "--provider");
    }

    private static string Describe(EmbeddingConfig config) =>
        string.Join(" + ", new[]
        {
            config.Dense is { } d ? $"dense {d.Provider}" + (d.Provider == "local" ? $" ({d.Model ?? Path.GetFileName(d.ModelPath)})" : "") : null,
            config.Sparse is { } s ? $"sparse {s.Provider}" : null,
        }.Where(p => p is not null));

    private static bool StoppedByCost(IndexRunProgress result)
    {
        if (result.StoppedByCost is not { } why)
        {
            return false;
        }

        Console.WriteLine($"Stopped: {why}. The checkpoint is saved (with this run's tokens and cost); " +
            "run the same command with a higher --max-cost (or embedding.max_cost) to resume.");
        return true;
    }

    /// <summary>The run done by a server (<see cref="RemoteIndexRun"/>); same progress, summary and exit codes as a local one.</summary>
    private static async Task<int> RemoteAsync(ParseResult parse, string url, string? apiKey, FileIndexerOptions options, double maxCost, CancellationToken cancellationToken)
    {
        if (parse.GetValue(WatchOption))
        {
            Console.Error.WriteLine("error: --watch does not combine with --url: a server keeps directories in step itself (file_watcher in its configuration)");
            return 2;
        }

        if (parse.GetValue(ProviderOption) is not null)
        {
            Console.Error.WriteLine("error: --provider does not combine with --url: the server's embedders are used (its `embedding:` section, else local + bm25)");
            return 2;
        }

        if (!Uri.TryCreate(url.TrimEnd('/') + "/", UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
        {
            Console.Error.WriteLine($"error: --url: `{url}` is not an http(s) URL");
            return 2;
        }

        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromMinutes(10) };
        if (!string.IsNullOrEmpty(apiKey))
        {
            http.DefaultRequestHeaders.Add(Server.Security.Authenticator.ApiKeyHeader, apiKey);
        }

        var collection = options.DefaultCollection;
        var root = options.Roots[0];
        var selector = new FileSelector(options);
        var checkpointPath = RemoteIndexRun.CheckpointPathFor(baseUri.AbsoluteUri, collection, root);
        var embedders = await DescribeRemoteAsync(http, collection, cancellationToken).ConfigureAwait(false);
        if (embedders is null)
        {
            return 1;
        }

        Console.WriteLine($"Indexing {root} into `{collection}` on {baseUri.AbsoluteUri.TrimEnd('/')} ({embedders}; checkpoint: {checkpointPath})");
        var problems = new List<FileIndexResult>();
        Func<CancellationToken, Task<IndexRunProgress>> Run(Action<IndexRunProgress> progress) => new RemoteIndexRun(http, collection, selector, root, checkpointPath)
        {
            CheckpointEvery = Math.Max(1, parse.GetValue(CheckpointEveryOption) ?? 100),
            Problem = problems.Add,
            Progress = progress,
            MaxCost = maxCost,
        }.RunAsync;
        IndexRunProgress result;
        try
        {
            var interactive = !Console.IsOutputRedirected && !parse.GetValue(PlainOption) && AnsiConsole.Profile.Capabilities.Interactive;
            result = interactive ? await WithProgressBarAsync(Run, false, cancellationToken).ConfigureAwait(false) : await WithLinesAsync(Run, false, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine("Interrupted: the checkpoint is saved; run the same command again to resume.");
            return 130;
        }
        catch (Exception e) when (e is RemoteIndexException or HttpRequestException)
        {
            PrintProblems(problems);
            Console.Error.WriteLine($"error: {e.Message}. The checkpoint is saved; run the same command again to resume.");
            return 1;
        }

        PrintProblems(problems);
        PrintSummary(result, false);
        return StoppedByCost(result) ? 3 : result.Failed > 0 ? 1 : 0;
    }

    /// <summary>The collection's embedders on the server, or what it will create; null (after an error message) when the server cannot be used.</summary>
    private static async Task<string?> DescribeRemoteAsync(HttpClient http, string collection, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync($"collections/{Uri.EscapeDataString(collection)}/embedding", cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                return "a new collection, with the server's embedders";
            }

            if (response.StatusCode is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden)
            {
                Console.Error.WriteLine($"error: the server at {http.BaseAddress} refused the request ({(int)response.StatusCode}): set VECTORIZER_API_KEY (or auth.api_key in the configuration) to a key that may write");
                return null;
            }

            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            using var json = JsonDocument.Parse(body);
            if (!response.IsSuccessStatusCode || !json.RootElement.TryGetProperty("result", out var result))
            {
                Console.Error.WriteLine($"error: collection `{collection}` on {http.BaseAddress}: {(int)response.StatusCode} {body}");
                return null;
            }

            return Describe(EmbeddingConfig.Parse(result, "embedding"));
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or VectorizerException)
        {
            Console.Error.WriteLine($"error: cannot use the server at {http.BaseAddress}: {e.Message}");
            return null;
        }
    }

    /// <summary>Where the configured server listens (as <c>vectorizer status</c> finds it).</summary>
    private static string ConfiguredUrl(VectorizerSettings settings)
    {
        var host = settings.Server.Host is "0.0.0.0" or "::" ? "127.0.0.1" : settings.Server.Host;
        return $"{(settings.Server.Tls.Enabled ? "https" : "http")}://{host}:{settings.Server.Port}";
    }

    private static string? RemoteApiKey(VectorizerSettings settings) =>
        Environment.GetEnvironmentVariable("VECTORIZER_API_KEY") is { Length: > 0 } key ? key
        : settings.Auth.ApiKey.Length > 0 ? settings.Auth.ApiKey
        : null;

    /// <summary>
    /// Whether the server at <paramref name="url"/> is the one holding <paramref name="dataDir"/> (its <c>/api/status</c>
    /// names that directory): never send the work to whatever else answers on the configured port.
    /// </summary>
    private static async Task<bool> ServesAsync(string url, string? apiKey, string dataDir, CancellationToken cancellationToken)
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
            using var request = new HttpRequestMessage(HttpMethod.Get, url.TrimEnd('/') + "/api/status");
            if (!string.IsNullOrEmpty(apiKey))
            {
                request.Headers.Add(Server.Security.Authenticator.ApiKeyHeader, apiKey);
            }

            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"note: the server at {url} answered {(int)response.StatusCode} to /api/status, so it cannot be told apart from another; pass --url to index through it");
                return false;
            }

            using var status = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            return status.RootElement.TryGetProperty("data_dir", out var served) && served.ValueKind == JsonValueKind.String
                && Path.TrimEndingDirectorySeparator(Path.GetFullPath(served.GetString()!)) == Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataDir));
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine($"note: the server at {url} did not answer /api/status within 20 s; pass --url to index through it");
            return false;
        }
        catch (Exception e) when (e is HttpRequestException or UriFormatException or JsonException)
        {
            return false;
        }
    }

    private static async Task<IndexRunProgress> WithProgressBarAsync(Func<Action<IndexRunProgress>, Func<CancellationToken, Task<IndexRunProgress>>> run, bool paid, CancellationToken cancellationToken)
    {
        IndexRunProgress? last = null;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("scanning", maxValue: 1);
                last = await run(p => Update(task, p))(cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);
        return last!;

        void Update(ProgressTask task, IndexRunProgress progress)
        {
            // By bytes, so Spectre's remaining time follows the amount of text left (see IndexRunProgress.Eta); only this
            // run's part, so files resumed from a checkpoint do not count as speed.
            task.MaxValue = Math.Max(1, progress.TotalBytes - progress.ResumedBytes);
            task.Value = progress.DoneBytes - progress.ResumedBytes;
            task.Description = Markup.Escape(Line(progress, paid, withEta: false));
        }
    }

    private static async Task<IndexRunProgress> WithLinesAsync(Func<Action<IndexRunProgress>, Func<CancellationToken, Task<IndexRunProgress>>> run, bool paid, CancellationToken cancellationToken)
    {
        var lastLine = DateTime.MinValue;
        return await run(progress =>
        {
            if (DateTime.UtcNow - lastLine >= TimeSpan.FromSeconds(1))
            {
                lastLine = DateTime.UtcNow;
                Console.WriteLine("progress: " + Line(progress, paid, withEta: true));
            }
        })(cancellationToken).ConfigureAwait(false);
    }

    private static string Line(IndexRunProgress p, bool paid, bool withEta)
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"{p.DoneFiles}/{p.TotalFiles} files, {p.Chunks} chunks, {p.FilesPerSecond:F1} files/s");
        if (withEta)
        {
            line += p.Eta is { } eta ? string.Create(CultureInfo.InvariantCulture, $", ETA {eta.TotalSeconds:F0} s") : ", ETA -";
        }

        if (paid || p.Tokens > 0)
        {
            line += string.Create(CultureInfo.InvariantCulture, $", {p.Tokens} tokens, ${p.Cost:F4}");
        }

        return line;
    }

    private static void PrintProblems(List<FileIndexResult> problems)
    {
        const int shown = 20;
        foreach (var problem in problems.Take(shown))
        {
            Console.WriteLine($"{(problem.Outcome == FileOutcome.Failed ? "failed" : "skipped")}: {problem.RelativePath ?? problem.Path}: {problem.Reason}");
        }

        if (problems.Count > shown)
        {
            Console.WriteLine($"... and {problems.Count - shown} more skipped or failed files");
        }
    }

    private static void PrintSummary(IndexRunProgress p, bool paid)
    {
        var seconds = Math.Max(p.Elapsed.TotalSeconds, 1e-9);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
            files indexed:   {p.Indexed}
            files unchanged: {p.Unchanged}
            files skipped:   {p.Skipped}
            files failed:    {p.Failed}
            files removed:   {p.Removed}
            files resumed:   {p.ResumedFiles}
            chunks:          {p.Chunks}
            seconds:         {p.Elapsed.TotalSeconds:F2}
            files/s:         {p.FilesPerSecond:F1}
            chunks/s:        {p.Chunks / seconds:F1}
            """));
        if (paid || p.Tokens > 0)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tokens:          {p.Tokens}\ncost:            ${p.Cost:F4}"));
        }
    }

    private static void PrintChange(FileIndexResult result)
    {
        var text = result.Outcome switch
        {
            FileOutcome.Indexed => $"indexed: {result.RelativePath} ({result.Chunks} chunks)",
            FileOutcome.Removed => $"removed: {result.RelativePath ?? result.Path}",
            FileOutcome.Skipped => $"skipped: {result.RelativePath ?? result.Path}: {result.Reason}",
            FileOutcome.Failed => $"failed: {result.RelativePath ?? result.Path}: {result.Reason}",
            _ => null,
        };
        if (text is not null)
        {
            Console.WriteLine(text);
        }
    }
}
