using System.CommandLine;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Grpc;
using Vectorizer.Server.Hosting;

namespace Vectorizer.Cli;

/// <summary>The <c>vectorizer</c> command line: serve, status, collections, config, index.</summary>
public static class VectorizerCli
{
    private static readonly Option<string?> ConfigOption = new("--config", "-c") { Description = "Path to config.yml (default: $VECTORIZER_CONFIG, else ./config.yml when present)" };
    private static readonly Option<string?> HostOption = new("--host") { Description = "Address to listen on (server.host)" };
    private static readonly Option<int?> PortOption = new("--port", "-p") { Description = "TCP port (server.port; 0 picks a free one)" };
    private static readonly Option<int?> GrpcPortOption = new("--grpc-port") { Description = "gRPC port (server.grpc_port; 0 picks a free one)" };
    private static readonly Option<string?> DataDirOption = new("--data-dir") { Description = "Data directory (server.data_dir)" };
    private static readonly Option<string?> LogLevelOption = new("--log-level") { Description = "trace, debug, info, warn or error" };
    private static readonly Option<string?> LogFormatOption = new("--log-format") { Description = "text or json" };
    private static readonly Option<string?> UrlOption = new("--url") { Description = "Server URL (default: from the configuration, http://host:port)" };

    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("Vectorizer: a vector database server that speaks Qdrant's REST API.");
        root.Add(ServeCommand());
        root.Add(StatusCommand());
        root.Add(CollectionsCommand());
        root.Add(ConfigCommand());
        root.Add(HealthCheckCommand.Create());
        root.Add(IndexCommand.Create(ConfigOption, DataDirOption));
        root.Add(TokenCommand.Create());
        root.Add(CollectionCommand.Create(ConfigOption, DataDirOption));
        root.Add(McpCommand.Create(ConfigOption, DataDirOption));
        root.Add(BackupCommand.Create(ConfigOption, DataDirOption));
        root.Add(ReplicationCommand.Create(ConfigOption));
        // The host handles SIGTERM and Ctrl-C itself (graceful shutdown may take longer than a fixed timeout).
        var parse = root.Parse(args);
        var code = await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);

        // Usage errors (unknown options, bad values) exit 2, like the verbs' own usage errors; 1 means "found a problem".
        return parse.Errors.Count > 0 ? 2 : code;
    }

    private static Command ServeCommand()
    {
        var command = new Command("serve", "Start the server (Ctrl-C or SIGTERM shuts it down gracefully)");
        AddServerOptions(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!TryLoad(parse, out var settings, out var configPath))
            {
                return 2;
            }

            var app = VectorizerHost.Build(settings, configPath: configPath);
            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // One line, no stack trace: what stopped the start is the machine's state, not a bug to debug.
                var (message, code) = StartupFailure(e, settings);
                Console.Error.WriteLine($"error: {message}");
                if (code == 1 && settings.Logging.Level is "debug" or "trace")
                {
                    Console.Error.WriteLine(e);
                }

                await DisposeAfterFailedStartAsync(app).ConfigureAwait(false);
                return code;
            }

            Console.WriteLine($"Vectorizer {Server.Api.Qdrant.ServiceApi.Version} listening on {VectorizerHost.ListeningAddress(app)} (data: {Path.GetFullPath(settings.Server.DataDir)})");
            if (GrpcHosting.ListeningAddress(app) is { } grpc)
            {
                Console.WriteLine($"gRPC (Qdrant's API) listening on {grpc}");
            }

            await app.WaitForShutdownAsync(CancellationToken.None).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    /// <summary>The line to print when the server cannot start, and the exit code: 2 for the environment, 1 for anything else.</summary>
    private static (string Message, int Code) StartupFailure(Exception e, VectorizerSettings settings)
    {
        var address = $"{settings.Server.Host}:{settings.Server.Port}";
        var portHint = "--port, server.port or VECTORIZER_PORT";
        if (settings.Server.GrpcEnabled && settings.Server.GrpcPort != 0 && e.Message.Contains($":{settings.Server.GrpcPort}", StringComparison.Ordinal))
        {
            // Kestrel names the address it failed to bind; the gRPC port has its own settings.
            address = $"{settings.Server.Host}:{settings.Server.GrpcPort}";
            portHint = "--grpc-port, server.grpc_port or VECTORIZER_GRPC_PORT (or server.grpc_enabled: false)";
        }
        else if (settings.Replication.Enabled && Vectorizer.Server.Replication.ReplicationSection.ParseEndpoint(settings.Replication.BindAddress) is { } stream
            && e.Message.Contains($":{stream.Port}", StringComparison.Ordinal))
        {
            // The replication stream listens on its own address.
            address = settings.Replication.BindAddress;
            portHint = "replication.bind_address (VECTORIZER_REPLICATION__BIND_ADDRESS)";
        }

        var socket = e as SocketException ?? e.InnerException?.InnerException as SocketException ?? e.InnerException as SocketException;
        return (e, socket?.SocketErrorCode) switch
        {
            (VectorizerException, _) => (e.Message, 2),
            (_, SocketError.AddressAlreadyInUse) =>
                ($"cannot listen on {address}: the address is already in use (another server is listening there?); choose another port with {portHint}", 2),
            (_, SocketError.AccessDenied) => ($"cannot listen on {address}: permission denied (ports below 1024 need privileges)", 2),
            (_, SocketError.AddressNotAvailable) => ($"cannot listen on {address}: the address is not one of this machine's", 2),
            (IOException or UnauthorizedAccessException or SocketException, _) => ($"cannot start: {e.Message}", 2),
            _ => ($"cannot start: {e.GetType().Name}: {e.Message} (--log-level debug prints the details)", 1),
        };
    }

    private static async Task DisposeAfterFailedStartAsync(WebApplication app)
    {
        try
        {
            await app.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Already failing: the first error is the one worth reading.
        }
    }

    private static Command StatusCommand()
    {
        var command = new Command("status", "Show a running server's status (GET /api/status)");
        command.Add(ConfigOption);
        command.Add(UrlOption);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var status = await GetJsonAsync(parse, "/api/status", cancellationToken).ConfigureAwait(false);
            if (status is not { } s)
            {
                return 1;
            }

            Console.WriteLine($"status:      {s.GetProperty("status").GetString()}");
            Console.WriteLine($"version:     {s.GetProperty("version").GetString()}");
            Console.WriteLine($"uptime:      {TimeSpan.FromSeconds(s.GetProperty("uptime_seconds").GetDouble()):d\\.hh\\:mm\\:ss}");
            Console.WriteLine($"data_dir:    {s.GetProperty("data_dir").GetString()}");
            Console.WriteLine($"collections: {s.GetProperty("collections_count").GetInt32()}");
            Console.WriteLine($"points:      {s.GetProperty("total_points").GetInt64()}");
            Console.WriteLine($"memory:      {s.GetProperty("memory").GetProperty("process_working_set_bytes").GetInt64() / (1024 * 1024)} MiB working set");
            PrintFailed(s);
            return 0;
        });
        return command;
    }

    private static Command CollectionsCommand()
    {
        var command = new Command("collections", "Inspect collections on a running server");
        var list = new Command("list", "List collections with their point counts");
        list.Add(ConfigOption);
        list.Add(UrlOption);
        list.SetAction(async (parse, cancellationToken) =>
        {
            var status = await GetJsonAsync(parse, "/api/status", cancellationToken).ConfigureAwait(false);
            if (status is not { } s)
            {
                return 1;
            }

            var collections = s.GetProperty("collections");
            if (collections.GetArrayLength() == 0)
            {
                Console.WriteLine("(no collections)");
            }

            foreach (var collection in collections.EnumerateArray())
            {
                Console.WriteLine($"{collection.GetProperty("name").GetString(),-32} {collection.GetProperty("points_count").GetInt64(),12} points  {collection.GetProperty("status").GetString()}");
            }

            PrintFailed(s);
            return 0;
        });
        command.Add(list);
        return command;
    }

    /// <summary>Collections that could not be opened, from <c>/api/status</c>, with what to do about them.</summary>
    private static void PrintFailed(JsonElement status)
    {
        if (!status.TryGetProperty("failed_collections", out var failed) || failed.GetArrayLength() == 0)
        {
            return;
        }

        foreach (var collection in failed.EnumerateArray())
        {
            var name = collection.GetProperty("name").GetString();
            Console.WriteLine($"FAILED {name}: {collection.GetProperty("reason").GetString()}");
            Console.WriteLine($"       not served; files kept in {collection.GetProperty("path").GetString()}: stop the server, then `vectorizer collection check {name}`");
        }
    }

    private static Command ConfigCommand()
    {
        var command = new Command("config", "Check or print the configuration");
        var validate = new Command("validate", "Check the configuration (config.yml when there is one, the environment): unknown keys, wrong types and bad values, with line numbers");
        validate.Add(ConfigOption);
        validate.SetAction(parse =>
        {
            var (loaded, issues) = ConfigLoader.Check(parse.GetValue(ConfigOption), ConfigLoader.CurrentEnvironment());
            var path = ConfigLoader.ResolvePath(parse.GetValue(ConfigOption), ConfigLoader.CurrentEnvironment());
            var name = path ?? "(no config file: defaults and environment)";
            foreach (var issue in issues)
            {
                (issue.IsWarning ? Console.Out : Console.Error).WriteLine($"{name}: {(issue.IsWarning ? "warning" : "error")}: {issue}");
            }

            var errors = issues.Count(i => !i.IsWarning);
            Console.WriteLine(loaded is not null ? $"{name}: valid" : $"{name}: {errors} error(s)");
            return loaded is not null ? 0 : 1;
        });
        var show = new Command("show", "Print the effective configuration (file, environment and flags applied)");
        AddServerOptions(show);
        show.SetAction(parse =>
        {
            if (!TryLoad(parse, out var settings))
            {
                return 2;
            }

            Console.Write(ConfigLoader.ToYaml(settings));
            return 0;
        });
        command.Add(validate);
        command.Add(show);
        return command;
    }

    private static void AddServerOptions(Command command)
    {
        command.Add(ConfigOption);
        command.Add(HostOption);
        command.Add(PortOption);
        command.Add(GrpcPortOption);
        command.Add(DataDirOption);
        command.Add(LogLevelOption);
        command.Add(LogFormatOption);
    }

    private static bool TryLoad(ParseResult parse, out VectorizerSettings settings) => TryLoad(parse, out settings, out _);

    private static bool TryLoad(ParseResult parse, out VectorizerSettings settings, out string? configPath)
    {
        var flags = new Dictionary<string, string?>
        {
            ["server:host"] = parse.GetValue(HostOption),
            ["server:port"] = parse.GetValue(PortOption)?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["server:grpc_port"] = parse.GetValue(GrpcPortOption)?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["server:data_dir"] = parse.GetValue(DataDirOption),
            ["logging:level"] = parse.GetValue(LogLevelOption),
            ["logging:format"] = parse.GetValue(LogFormatOption),
        };
        foreach (var unset in flags.Where(f => f.Value is null).Select(f => f.Key).ToList())
        {
            flags.Remove(unset);
        }

        return TryLoad(parse.GetValue(ConfigOption), flags, out settings, out configPath);
    }

    /// <summary>Loads the configuration; prints its warnings, or its errors (false: exit 2).</summary>
    internal static bool TryLoad(string? config, IReadOnlyDictionary<string, string?>? flags, out VectorizerSettings settings, out string? configPath)
    {
        configPath = null;
        try
        {
            (settings, configPath, var warnings) = ConfigLoader.Load(config, ConfigLoader.CurrentEnvironment(), flags);
            foreach (var warning in warnings)
            {
                Console.Error.WriteLine($"warning: {warning}");
            }

            return true;
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine(e.Message);
            settings = null!;
            return false;
        }
    }

    private static async Task<JsonElement?> GetJsonAsync(ParseResult parse, string path, CancellationToken cancellationToken)
    {
        var url = parse.GetValue(UrlOption);
        var apiKey = Environment.GetEnvironmentVariable("VECTORIZER_API_KEY");
        if (url is null)
        {
            if (!TryLoadForClient(parse, out var settings))
            {
                return null;
            }

            var host = settings.Server.Host is "0.0.0.0" or "::" ? "127.0.0.1" : settings.Server.Host;
            url = $"{(settings.Server.Tls.Enabled ? "https" : "http")}://{host}:{settings.Server.Port}";
            apiKey = settings.Auth.ApiKey.Length > 0 ? settings.Auth.ApiKey : settings.Auth.ReadOnlyApiKey;
        }

        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };
        if (!string.IsNullOrEmpty(apiKey))
        {
            client.DefaultRequestHeaders.Add(Server.Security.Authenticator.ApiKeyHeader, apiKey);
        }

        try
        {
            using var response = await client.GetAsync(path, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden)
            {
                Console.Error.WriteLine($"error: the server at {url} refused the request ({(int)response.StatusCode}): set `auth.api_key` in the configuration or VECTORIZER_API_KEY");
                return null;
            }

            response.EnsureSuccessStatusCode();
            return await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            Console.Error.WriteLine($"error: cannot reach the server at {url}: {e.Message}");
            return null;
        }
    }

    private static bool TryLoadForClient(ParseResult parse, out VectorizerSettings settings) => TryLoad(parse.GetValue(ConfigOption), null, out settings, out _);
}
