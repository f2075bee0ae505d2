using System.CommandLine;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Storage;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Hosting;

namespace Vectorizer.Cli;

/// <summary>
/// <c>vectorizer collection check|repair|quarantine NAME</c>: what an operator does about a collection the server
/// reports as failed (it could not be opened, and the server leaves its files alone). In-process on the data directory
/// under its lock, like <c>vectorizer index</c>: the server must be stopped.
/// </summary>
internal static class CollectionCommand
{
    private static readonly Argument<string> NameArgument = new("NAME") { Description = "The collection (its folder under data_dir/collections)" };
    private static readonly Option<bool> AcceptLossOption = new("--accept-data-loss")
    {
        Description = "repair: go ahead when the repair loses acknowledged operations (the ones `check` says cannot be replayed)",
    };

    private static readonly Option<FileInfo?> ConfigFileOption = new("--config-file") { Description = "repair: a good collection.json to put in place of a damaged one" };
    private static readonly Option<bool> NoBackupOption = new("--no-backup") { Description = "repair: do not copy the folder to data_dir/quarantine first" };
    private static readonly Option<string?> ReasonOption = new("--reason") { Description = "quarantine: why, recorded in quarantine.json" };

    public static Command Create(Option<string?> configOption, Option<string?> dataDirOption)
    {
        var command = new Command("collection", "Check, repair or quarantine a collection's files (in-process; stop the server first)");

        var check = new Command("check", "Run the recovery an open would run, changing nothing, and say what stops the collection from opening (exit 1)");
        check.Add(NameArgument);
        check.Add(configOption);
        check.Add(dataDirOption);
        check.SetAction(parse => Run(parse, configOption, dataDirOption, (options, name) =>
        {
            var result = CollectionDoctor.Check(options, name);
            Print(result);
            if (result.Problem != CollectionProblem.None)
            {
                Console.WriteLine("next: " + Advice(result));
            }

            return result.Problem == CollectionProblem.None ? 0 : 1;
        }));

        var repair = new Command("repair", "Make the collection open again (a copy of its folder goes to data_dir/quarantine first)");
        repair.Add(NameArgument);
        repair.Add(AcceptLossOption);
        repair.Add(ConfigFileOption);
        repair.Add(NoBackupOption);
        repair.Add(configOption);
        repair.Add(dataDirOption);
        repair.SetAction(parse => Run(parse, configOption, dataDirOption, (options, name) =>
        {
            using var loggers = LoggerFactory.Create(logging => VectorizerHost.ConfigureLogging(logging, new LoggingSection { Level = "warn" }));
            var result = CollectionDoctor.Repair(
                options, name, loggers, parse.GetValue(AcceptLossOption), parse.GetValue(ConfigFileOption)?.FullName, backup: !parse.GetValue(NoBackupOption));
            Print(result.Before);
            foreach (var step in result.Done)
            {
                Console.WriteLine("done: " + step);
            }

            if (result.NotRepaired is { } why)
            {
                Console.Error.WriteLine("not repaired: " + why);
                return 1;
            }

            Console.WriteLine($"repaired: `{name}` opens ({result.After.Points} points, LSN {result.After.LastLsn}); start the server");
            return 0;
        }));

        var quarantine = new Command("quarantine", "Move the collection's folder to data_dir/quarantine/NAME-TIMESTAMP (nothing is deleted; the name is free again)");
        quarantine.Add(NameArgument);
        quarantine.Add(ReasonOption);
        quarantine.Add(configOption);
        quarantine.Add(dataDirOption);
        quarantine.SetAction(parse => Run(parse, configOption, dataDirOption, (options, name) =>
        {
            var reason = parse.GetValue(ReasonOption) ?? CollectionDoctor.Check(options, name).Reason;
            var moved = CollectionDoctor.Quarantine(options, name, reason);
            Console.WriteLine($"moved {moved.From} to {moved.To}");
            if (moved.RemovedAliases.Count > 0)
            {
                Console.WriteLine($"removed alias(es) {string.Join(", ", moved.RemovedAliases)} (listed in quarantine.json)");
            }

            return 0;
        }));

        command.Add(check);
        command.Add(repair);
        command.Add(quarantine);
        return command;
    }

    /// <summary>Loads the configuration, takes the data directory's lock, runs <paramref name="action"/>; usage and I/O errors exit 2.</summary>
    private static int Run(ParseResult parse, Option<string?> configOption, Option<string?> dataDirOption, Func<EngineOptions, string, int> action)
    {
        var dataDir = parse.GetValue(dataDirOption);
        if (!VectorizerCli.TryLoad(parse.GetValue(configOption), dataDir is null ? null : new Dictionary<string, string?> { ["server:data_dir"] = dataDir }, out var settings, out _))
        {
            return 2;
        }

        var options = settings.ToEngineOptions();

        var name = parse.GetValue(NameArgument)!;
        try
        {
            CollectionNames.Validate(name);
            if (!Directory.Exists(Path.Combine(options.DataDir, "collections", name)))
            {
                Console.Error.WriteLine($"error: no collection `{name}` in {Path.GetFullPath(options.DataDir)}");
                return 2;
            }

            using var dataLock = DataDirectoryLock.Acquire(options.DataDir);
            return action(options, name);
        }
        catch (VectorizerException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 2;
        }
    }

    private static void Print(CollectionCheck check)
    {
        Console.WriteLine($"collection `{check.Name}` ({check.Path}): {(check.Problem == CollectionProblem.None ? $"opens, {check.Points} points, LSN {check.LastLsn}" : "does not open: " + check.Reason)}");
        foreach (var finding in check.Findings)
        {
            Console.WriteLine("  " + finding);
        }
    }

    private static string Advice(CollectionCheck check) => check.Problem switch
    {
        CollectionProblem.ConfigDamaged => $"`vectorizer collection repair {check.Name} --config-file GOOD.json` with a good collection.json, or `vectorizer collection quarantine {check.Name}`",
        CollectionProblem.WalDamaged => $"`vectorizer collection repair {check.Name} --accept-data-loss` keeps operations up to LSN {check.LastLsn} and loses the rest (a copy of the folder is kept), or `quarantine`",
        CollectionProblem.MissingOperations => $"`vectorizer collection repair {check.Name} --accept-data-loss` replays what follows the missing operations (a copy of the folder is kept), or `quarantine`",
        CollectionProblem.NewerFormat => "written by a newer Vectorizer: run that version (nothing to repair)",
        CollectionProblem.Bug => $"an error in Vectorizer, not in the files: please report it with this output; `vectorizer collection quarantine {check.Name}` frees the name",
        _ => "nothing to do",
    };
}
