using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Storage;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Hosting;
using Vectorizer.Server.Security;

namespace Vectorizer.Cli;

/// <summary>
/// <c>vectorizer backup create|list|verify|restore|delete</c>: in-process on the data directory (taking its lock, like
/// <c>vectorizer index</c>) with the server stopped, or against a running server with <c>--url</c>. Both call
/// <see cref="BackupsService"/>, in this process or behind <c>/api/backups</c>.
/// </summary>
public static class BackupCommand
{
    private static readonly Option<string?> CollectionOption = new("--collection") { Description = "One collection (or alias); without it, every collection and the aliases" };
    private static readonly Option<bool> AllOption = new("--all") { Description = "Every collection and the aliases (the default)" };
    private static readonly Option<bool> IncrementalOption = new("--incremental") { Description = "Only what changed since the newest backup of the same collections" };
    private static readonly Option<string?> OutputOption = new("--output", "-o") { Description = "Write the archive here instead of backup.directory (in-process only)" };
    private static readonly Option<string?> AsOption = new("--as") { Description = "restore: under this name instead (one collection)" };
    private static readonly Option<string?> UrlOption = new("--url") { Description = "A running server's URL: work through its /api/backups" };
    private static readonly Option<bool> PlainOption = new("--plain") { Description = "Plain progress lines even on a terminal" };
    private static readonly Argument<string> BackupArgument = new("backup") { Description = "A backup id (see `backup list`) or, in-process, an archive file" };

    public static Command Create(Option<string?> configOption, Option<string?> dataDirOption)
    {
        var command = new Command("backup", "Create, list, verify, restore and delete backups (in-process with the server stopped, or --url)");

        var create = new Command("create", "Back up one collection or all of them");
        create.Add(CollectionOption);
        create.Add(AllOption);
        create.Add(IncrementalOption);
        create.Add(OutputOption);
        Common(create);
        create.SetAction((parse, cancellationToken) => Run(parse, configOption, dataDirOption, cancellationToken, async (backups, progress) =>
        {
            if (parse.GetValue(CollectionOption) is not null && parse.GetValue(AllOption))
            {
                throw VectorizerException.BadRequest("--collection and --all exclude each other");
            }

            var created = await backups.CreateAsync(CallContext.Internal, new BackupRequest(parse.GetValue(CollectionOption), parse.GetValue(IncrementalOption), Output(parse)), progress, cancellationToken).ConfigureAwait(false);
            Console.WriteLine(Describe(created));
            Console.WriteLine($"file: {created.Path}");
            return 0;
        }, http => WithServerProgress(parse, http, requestId => HttpCreate(http, parse, cancellationToken, requestId), cancellationToken)));

        var list = new Command("list", "List the backups in backup.directory, newest first");
        Common(list);
        list.SetAction((parse, cancellationToken) => Run(parse, configOption, dataDirOption, cancellationToken, (backups, _) =>
        {
            Print(backups.List(CallContext.Internal));
            return Task.FromResult(0);
        }, http => HttpList(http, cancellationToken)));

        var verify = new Command("verify", "Read a backup and its chain through and check every checksum (exit 1 when anything is wrong)");
        verify.Add(BackupArgument);
        Common(verify);
        verify.SetAction((parse, cancellationToken) => Run(parse, configOption, dataDirOption, cancellationToken, async (backups, progress) =>
        {
            var result = await backups.VerifyAsync(CallContext.Internal, parse.GetValue(BackupArgument)!, progress, cancellationToken).ConfigureAwait(false);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"valid: {result.Id}{(result.Chain.Count > 0 ? " (chain: " + string.Join(", ", result.Chain) + ")" : "")}, {result.Files} files, {result.Bytes} bytes, {result.Seconds:F2} s"));
            return 0;
        }, http => WithServerProgress(parse, http, requestId => HttpPost(
            http, "/api/backups/verify", new Dictionary<string, string?> { ["backup_id"] = parse.GetValue(BackupArgument) }, r => $"valid: {r.GetProperty("backup_id").GetString()}", cancellationToken, requestId), cancellationToken)));

        var restore = new Command("restore", "Restore a backup (verified first; what it replaces is backed up first)");
        restore.Add(BackupArgument);
        restore.Add(CollectionOption);
        restore.Add(AsOption);
        Common(restore);
        restore.SetAction((parse, cancellationToken) => Run(parse, configOption, dataDirOption, cancellationToken, async (backups, progress) =>
        {
            var result = await backups.RestoreAsync(CallContext.Internal, parse.GetValue(BackupArgument)!, parse.GetValue(CollectionOption), parse.GetValue(AsOption), progress, cancellationToken).ConfigureAwait(false);
            foreach (var c in result.Collections)
            {
                Console.WriteLine($"restored: {c.Name} ({c.Points} points{(c.From != c.Name ? ", from " + c.From : "")}{(c.Aliases.Count > 0 ? ", aliases " + string.Join(", ", c.Aliases) : "")})");
            }

            foreach (var safety in result.SafetyBackups)
            {
                Console.WriteLine($"replaced state backed up first: {safety.Id}");
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"done in {result.Seconds:F2} s"));
            return 0;
        }, http => WithServerProgress(parse, http, requestId => HttpPost(http, "/api/backups/restore", new Dictionary<string, string?>
        {
            ["backup_id"] = parse.GetValue(BackupArgument),
            ["collection"] = parse.GetValue(CollectionOption),
            ["as"] = parse.GetValue(AsOption),
        }, RestoreLine, cancellationToken, requestId), cancellationToken)));

        var delete = new Command("delete", "Delete a backup (refused while a kept incremental builds on it)");
        delete.Add(BackupArgument);
        Common(delete);
        delete.SetAction((parse, cancellationToken) => Run(parse, configOption, dataDirOption, cancellationToken, async (backups, _) =>
        {
            await backups.DeleteAsync(CallContext.Internal, parse.GetValue(BackupArgument)!, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"deleted: {parse.GetValue(BackupArgument)}");
            return 0;
        }, async http =>
        {
            var response = await http.DeleteAsync("/api/backups/" + Uri.EscapeDataString(parse.GetValue(BackupArgument)!), cancellationToken).ConfigureAwait(false);
            return await Answer(response, _ => $"deleted: {parse.GetValue(BackupArgument)}", cancellationToken).ConfigureAwait(false);
        }));

        command.Add(create);
        command.Add(list);
        command.Add(verify);
        command.Add(restore);
        command.Add(delete);
        return command;

        void Common(Command c)
        {
            c.Add(configOption);
            c.Add(dataDirOption);
            c.Add(UrlOption);
            c.Add(PlainOption);
        }
    }

    private static string? Output(ParseResult parse) => parse.GetValue(OutputOption) is { } output ? Path.GetFullPath(output) : null;

    /// <summary>
    /// Over HTTP with <c>--url</c>; else in-process: the configuration, the data directory's lock (exit 2 while a server
    /// holds it), the engine, the service. A refused operation (an invalid backup, an unknown collection) exits 1.
    /// </summary>
    private static async Task<int> Run(
        ParseResult parse, Option<string?> configOption, Option<string?> dataDirOption, CancellationToken cancellationToken,
        Func<BackupsService, BackupProgress?, Task<int>> inProcess, Func<HttpClient, Task<int>> overHttp)
    {
        var dataDir = parse.GetValue(dataDirOption);
        if (!VectorizerCli.TryLoad(parse.GetValue(configOption), dataDir is null ? null : new Dictionary<string, string?> { ["server:data_dir"] = dataDir }, out var settings, out _))
        {
            return 2;
        }

        if (parse.GetValue(UrlOption) is { } url)
        {
            if (parse.GetValue(OutputOption) is not null)
            {
                Console.Error.WriteLine("error: --output works in-process only (a server writes its backups to its backup.directory)");
                return 2;
            }

            using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = Timeout.InfiniteTimeSpan };
            var apiKey = Environment.GetEnvironmentVariable("VECTORIZER_API_KEY") is { Length: > 0 } fromEnvironment ? fromEnvironment : settings.Auth.ApiKey;
            if (apiKey.Length > 0)
            {
                http.DefaultRequestHeaders.Add(Authenticator.ApiKeyHeader, apiKey);
            }

            try
            {
                return await overHttp(http).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                Console.Error.WriteLine($"error: cannot reach the server at {url}: {e.Message}");
                return 2;
            }
        }

        var options = settings.ToEngineOptions();
        if (!Directory.Exists(options.DataDir))
        {
            Console.Error.WriteLine($"error: no data directory at {Path.GetFullPath(options.DataDir)}");
            return 2;
        }

        DataDirectoryLock dataLock;
        try
        {
            dataLock = DataDirectoryLock.Acquire(options.DataDir);
        }
        catch (VectorizerException e)
        {
            Console.Error.WriteLine($"error: {e.Message} (a running server: use --url)");
            return 2;
        }

        using (dataLock)
        {
            using var loggers = LoggerFactory.Create(logging => VectorizerHost.ConfigureLogging(logging, new LoggingSection { Level = "warn" }));
            using var manager = CollectionManager.Open(options, loggers);
            var backups = new BackupsService(manager, settings.Backup, TimeProvider.System, loggers);
            try
            {
                return await WithProgress(parse, progress => inProcess(backups, progress)).ConfigureAwait(false);
            }
            catch (VectorizerException e)
            {
                Console.Error.WriteLine("error: " + e.Message);
                return 1;
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="run"/> with a progress display: a bar per phase on an interactive terminal; else (redirected
    /// output, <c>--plain</c>) a <c>progress: PHASE DONE/TOTAL MiB</c> line at most once a second.
    /// </summary>
    private static async Task<int> WithProgress(ParseResult parse, Func<BackupProgress, Task<int>> run)
    {
        var interactive = !Console.IsOutputRedirected && !parse.GetValue(PlainOption) && AnsiConsole.Profile.Capabilities.Interactive;
        if (!interactive)
        {
            var last = DateTime.MinValue;
            return await run((phase, done, total) =>
            {
                if (DateTime.UtcNow - last >= TimeSpan.FromSeconds(1))
                {
                    last = DateTime.UtcNow;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"progress: {phase} {done >> 20}/{total >> 20} MiB"));
                }
            }).ConfigureAwait(false);
        }

        var code = 0;
        await AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                code = await run((phase, done, total) =>
                {
                    lock (tasks)
                    {
                        if (!tasks.TryGetValue(phase, out var task))
                        {
                            tasks[phase] = task = context.AddTask(phase);
                        }

                        task.MaxValue = Math.Max(1, total);
                        task.Value = done;
                    }
                }).ConfigureAwait(false);
            }).ConfigureAwait(false);
        return code;
    }

    /// <summary>
    /// Over HTTP: sends the request with an <c>X-Request-Id</c> of its own and, until it is answered, polls
    /// <c>GET /api/backups/progress</c> (four times a second), showing the server's progress for that request only (another
    /// client's operation, running first, is not shown). A server without the route, or a failed poll, only loses the display.
    /// </summary>
    private static Task<int> WithServerProgress(ParseResult parse, HttpClient http, Func<string, Task<int>> request, CancellationToken cancellationToken) =>
        WithProgress(parse, async progress =>
        {
            var requestId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
            var answer = request(requestId);
            while (!answer.IsCompleted)
            {
                await Task.WhenAny(answer, Task.Delay(250, cancellationToken)).ConfigureAwait(false);
                if (answer.IsCompleted || cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                try
                {
                    using var response = await http.GetAsync("/api/backups/progress", cancellationToken).ConfigureAwait(false);
                    if (!response.IsSuccessStatusCode)
                    {
                        continue;
                    }

                    var body = await response.Content.ReadFromJsonAsync(CliJson.Default.JsonElement, cancellationToken).ConfigureAwait(false);
                    if (body.TryGetProperty("result", out var current) && current.ValueKind == JsonValueKind.Object &&
                        current.GetProperty("request_id").GetString() == requestId && current.GetProperty("phase").GetString() is { Length: > 0 } phase)
                    {
                        progress(phase, current.GetProperty("done").GetInt64(), current.GetProperty("total").GetInt64());
                    }
                }
                catch (Exception e) when (e is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException)
                {
                    // the display only
                }
            }

            return await answer.ConfigureAwait(false);
        });

    private static async Task<int> HttpCreate(HttpClient http, ParseResult parse, CancellationToken cancellationToken, string? requestId)
    {
        var body = new Dictionary<string, string?> { ["collection"] = parse.GetValue(CollectionOption), ["type"] = parse.GetValue(IncrementalOption) ? "incremental" : "full" };
        return await HttpPost(http, "/api/backups/create", body, r => $"{r.GetProperty("id").GetString()}: {r.GetProperty("type").GetString()}, {r.GetProperty("size").GetInt64()} bytes", cancellationToken, requestId).ConfigureAwait(false);
    }

    private static async Task<int> HttpList(HttpClient http, CancellationToken cancellationToken)
    {
        var response = await http.GetAsync("/api/backups", cancellationToken).ConfigureAwait(false);
        return await Answer(response, result =>
        {
            var lines = new StringBuilder();
            foreach (var b in result.GetProperty("backups").EnumerateArray())
            {
                lines.AppendLine(CultureInfo.InvariantCulture, $"{b.GetProperty("id").GetString()}  {b.GetProperty("type").GetString(),-11} {b.GetProperty("created_at").GetString()}  {b.GetProperty("size").GetInt64(),12} bytes  {string.Join(",", b.GetProperty("collections").EnumerateArray().Select(c => c.GetString()))}");
            }

            return lines.Length == 0 ? "no backups" : lines.ToString().TrimEnd();
        }, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<int> HttpPost(HttpClient http, string path, Dictionary<string, string?> body, Func<JsonElement, string> describe, CancellationToken cancellationToken, string? requestId = null)
    {
        var json = JsonSerializer.Serialize(body.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value), CliJson.Default.DictionaryStringString);
        using var message = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (requestId is not null)
        {
            message.Headers.Add("X-Request-Id", requestId);
        }

        var response = await http.SendAsync(message, cancellationToken).ConfigureAwait(false);
        return await Answer(response, describe, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<int> Answer(HttpResponseMessage response, Func<JsonElement, string> describe, CancellationToken cancellationToken)
    {
        using (response)
        {
            JsonElement body;
            try
            {
                body = await response.Content.ReadFromJsonAsync(CliJson.Default.JsonElement, cancellationToken).ConfigureAwait(false);
            }
            catch (JsonException)
            {
                Console.Error.WriteLine($"error: the server answered {(int)response.StatusCode} without a JSON body");
                return 2;
            }

            if (!response.IsSuccessStatusCode)
            {
                var message = body.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.Object && status.TryGetProperty("error", out var error) ? error.GetString() : body.ToString();
                Console.Error.WriteLine($"error: {message}");
                return (int)response.StatusCode is 401 or 403 ? 2 : 1;
            }

            Console.WriteLine(describe(body.GetProperty("result")));
            return 0;
        }
    }

    private static string RestoreLine(JsonElement result)
    {
        var lines = new StringBuilder();
        foreach (var c in result.GetProperty("collections").EnumerateArray())
        {
            lines.AppendLine(CultureInfo.InvariantCulture, $"restored: {c.GetProperty("name").GetString()} ({c.GetProperty("points").GetInt64()} points)");
        }

        foreach (var s in result.GetProperty("safety_backups").EnumerateArray())
        {
            lines.AppendLine(CultureInfo.InvariantCulture, $"replaced state backed up first: {s.GetProperty("id").GetString()}");
        }

        return lines.ToString().TrimEnd();
    }

    private static void Print(IReadOnlyList<BackupDescription> backups)
    {
        if (backups.Count == 0)
        {
            Console.WriteLine("no backups");
        }

        foreach (var backup in backups)
        {
            Console.WriteLine(Describe(backup));
        }
    }

    private static string Describe(BackupDescription b) => string.Create(
        CultureInfo.InvariantCulture,
        $"{b.Id}  {b.Type,-11} {b.CreatedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z  {b.Size,12} bytes  {b.Points} points  {(b.AllCollections ? "all: " : "")}{string.Join(",", b.Collections)}{(b.Parent is { } p ? "  (on " + p + ")" : "")}");
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(JsonElement))]
internal sealed partial class CliJson : System.Text.Json.Serialization.JsonSerializerContext;
