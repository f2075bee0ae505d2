using System.CommandLine;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Mcp;

namespace Vectorizer.Cli;

/// <summary>
/// <c>vectorizer mcp</c>: an MCP server on stdin/stdout for agent hosts that launch their tools (Claude Desktop, IDEs).
/// With <c>--url</c> it forwards to a running server's <c>/mcp</c>; otherwise it opens the data directory in-process
/// (<c>--data-dir</c>, else the configuration's), taking its lock like <c>vectorizer index</c>. stdout carries only
/// protocol messages: errors and logs go to stderr.
/// </summary>
internal static class McpCommand
{
    private static readonly Option<string?> UrlOption = new("--url") { Description = "Forward to the server at this URL (its /mcp endpoint) instead of opening the data directory" };
    private static readonly Option<string?> ApiKeyOption = new("--api-key") { Description = "With --url: the API key or JWT to send (default: $VECTORIZER_API_KEY)" };
    private static readonly Option<string?> LogLevelOption = new("--log-level") { Description = "Logs on stderr: trace, debug, info, warn (default) or error" };

    public static Command Create(Option<string?> configOption, Option<string?> dataDirOption)
    {
        var command = new Command("mcp", "Run an MCP (Model Context Protocol) server on stdin/stdout: in-process on the data directory, or forwarding to a running server with --url");
        command.Add(UrlOption);
        command.Add(ApiKeyOption);
        command.Add(configOption);
        command.Add(dataDirOption);
        command.Add(LogLevelOption);
        command.SetAction((parse, cancellationToken) => RunAsync(parse, configOption, dataDirOption, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, Option<string?> configOption, Option<string?> dataDirOption, CancellationToken cancellationToken)
    {
        var logLevel = parse.GetValue(LogLevelOption) ?? "warn";
        if (parse.GetValue(UrlOption) is { } url)
        {
            if (parse.GetValue(dataDirOption) is not null)
            {
                Console.Error.WriteLine("error: --url and --data-dir exclude each other: forward to a server, or open a data directory");
                return 2;
            }

            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                Console.Error.WriteLine($"error: --url: `{url}` is not an http(s) URL");
                return 2;
            }

            try
            {
                await McpStdio.RunProxyAsync(uri, parse.GetValue(ApiKeyOption) ?? Environment.GetEnvironmentVariable("VECTORIZER_API_KEY"), logLevel, cancellationToken).ConfigureAwait(false);
                return 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return 0;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Unreachable, refused (401/403), not an MCP endpoint: one line, no stack trace.
                Console.Error.WriteLine($"error: cannot serve MCP from {url}: {e.Message}");
                return 1;
            }
        }

        var dataDir = parse.GetValue(dataDirOption);
        var flags = new Dictionary<string, string?> { ["logging:level"] = logLevel };
        if (dataDir is not null)
        {
            flags["server:data_dir"] = dataDir;
        }

        if (!VectorizerCli.TryLoad(parse.GetValue(configOption), flags, out var settings, out _))
        {
            return 2;
        }

        try
        {
            await McpStdio.RunInProcessAsync(settings, cancellationToken).ConfigureAwait(false);
            return 0;
        }
        catch (VectorizerException e) when (e.Code == ErrorCode.DataDirectoryInUse)
        {
            Console.Error.WriteLine($"error: {e.Message} (a server has it open: use `vectorizer mcp --url http://host:port` to go through it)");
            return 2;
        }
        catch (VectorizerException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 2;
        }
    }
}
