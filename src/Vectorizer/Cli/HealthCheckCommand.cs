using System.CommandLine;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Storage;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Health;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Hosting;

namespace Vectorizer.Cli;

/// <summary>
/// <c>vectorizer health-check</c>: opens the data directory in-process (the server must be stopped; its lock says
/// so), checks collections against their source files, optionally fixes them. Exit 0: all PASS/INFO; 1: a FAIL;
/// 2: usage errors, a locked data directory, or a collection that could not be checked.
/// </summary>
internal static class HealthCheckCommand
{
    private const int ConsoleExamples = 5;

    private static readonly Option<string?> ConfigOption = new("--config", "-c") { Description = "Path to config.yml (for server.data_dir)" };
    private static readonly Option<string?> DataDirOption = new("--data-dir") { Description = "Data directory (default: server.data_dir of the configuration)" };
    private static readonly Option<string> CollectionOption = new("--collection") { Description = "A collection (name or alias), or all", DefaultValueFactory = _ => HealthCheckService.AllCollections };
    private static readonly Option<string?> RootOption = new("--root") { Description = "Source root the files are relative to (default: the one stored with each collection)" };
    private static readonly Option<bool> FixOption = new("--fix") { Description = "Delete orphans, embed missing files, re-embed stale and damaged ones, then check again" };
    private static readonly Option<string?> OutputOption = new("--output", "-o") { Description = "Write the JSON report to this file" };
    private static readonly Option<int> ExamplesOption = new("--examples") { Description = "Examples per check in the report", DefaultValueFactory = _ => 10 };

    public static Command Create()
    {
        var command = new Command("health-check", "Check collections against their source files: orphaned and missing embeddings, content sync, vector integrity, metadata (the server must be stopped)");
        command.Add(ConfigOption);
        command.Add(DataDirOption);
        command.Add(CollectionOption);
        command.Add(RootOption);
        command.Add(FixOption);
        command.Add(OutputOption);
        command.Add(ExamplesOption);
        command.SetAction((parse, cancellationToken) => RunAsync(parse, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var dataDir = parse.GetValue(DataDirOption);
        if (!VectorizerCli.TryLoad(parse.GetValue(ConfigOption), dataDir is null ? null : new Dictionary<string, string?> { ["server:data_dir"] = dataDir }, out var settings, out _))
        {
            return 2;
        }

        var request = new HealthCheckRequest
        {
            Collection = parse.GetValue(CollectionOption),
            Root = parse.GetValue(RootOption) is { } root ? Path.GetFullPath(root) : null,
            Fix = parse.GetValue(FixOption),
            MaxExamples = parse.GetValue(ExamplesOption),
        };
        if (!Directory.Exists(Path.Combine(settings.Server.DataDir, "collections")))
        {
            Console.Error.WriteLine($"error: {Path.GetFullPath(settings.Server.DataDir)} is not a Vectorizer data directory (no collections/ in it)");
            return 2;
        }

        try
        {
            var options = settings.ToEngineOptions();
            using var dataLock = DataDirectoryLock.Acquire(options.DataDir);
            using var loggers = LoggerFactory.Create(logging =>
            {
                VectorizerHost.ConfigureLogging(logging, settings.Logging);
                logging.SetMinimumLevel(LogLevel.Warning);
            });
            using var manager = CollectionManager.Open(options, loggers);
            using var ingestion = new IngestionService(manager.DataDirectory, loggers);
            var report = await new HealthCheckService(ingestion).RunAsync(manager, request, cancellationToken).ConfigureAwait(false);
            Print(report);
            if (parse.GetValue(OutputOption) is { } output)
            {
                await File.WriteAllBytesAsync(output, HealthReportJson.ToUtf8(report, indented: true), cancellationToken).ConfigureAwait(false);
                Console.WriteLine($"report written to {output}");
            }

            return report.ExitCode;
        }
        catch (Exception e) when (e is VectorizerException or Vectorizer.Ingestion.IngestionException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }

    private static void Print(HealthReport report)
    {
        foreach (var collection in report.Collections)
        {
            Console.WriteLine($"{collection.Name}: {HealthReportJson.Name(collection.Status)}: {collection.Message}{(collection.SourceRoot is { } root ? $" (root {root})" : "")}");
            if (collection.Fix is { } fix)
            {
                Console.WriteLine($"  before: {HealthReportJson.Name(collection.Before!.Status)}: {collection.Before.Message}");
                Console.WriteLine($"  fixed: orphaned points deleted {fix.DeletedPoints}, missing files indexed {fix.IndexedFiles}, files re-indexed {fix.ReindexedFiles}, points written {fix.PointsWritten}");
                foreach (var skipped in fix.Skipped)
                {
                    Console.WriteLine($"  not fixed: {(skipped.FilePath is { } path ? path + ": " : "")}{skipped.Detail}");
                }
            }

            foreach (var check in collection.Checks)
            {
                Console.WriteLine($"  {check.Name,-20} {HealthReportJson.Name(check.Status),-4}  {check.Message}");
                foreach (var example in check.Examples.Take(ConsoleExamples))
                {
                    var subject = string.Join(" ", new[] { example.FilePath, example.PointId is { } id ? $"(point {id})" : null }.Where(s => s is not null));
                    Console.WriteLine($"      {subject}: {example.Detail}");
                }
            }
        }

        Console.WriteLine($"health-check: {HealthReportJson.Name(report.Status)} ({report.Collections.Count} collection{(report.Collections.Count == 1 ? "" : "s")})");
    }
}
