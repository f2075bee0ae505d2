using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Vectorizer.Server.Tests;

/// <summary>The real <c>vectorizer</c> executable run as a child process.</summary>
public sealed partial class VectorizerProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly TaskCompletionSource<string> listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private VectorizerProcess(Process process)
    {
        this.process = process;
    }

    public string Url { get; private set; } = "";

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public Process Process => process;

    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Vectorizer.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Repository root not found");
    }

    /// <summary>vectorizer.dll built in the same configuration as the tests.</summary>
    public static string ExecutablePath()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(RepositoryRoot(), "src", "Vectorizer", "bin", configuration, "net10.0", "vectorizer.dll");
        Assert.True(File.Exists(path), $"{path} not built");
        return path;
    }

    /// <summary>
    /// <c>dotnet</c> with the test process's folder as TMPDIR: what a child leaves in its temporary directory (a killed
    /// runtime's diagnostic pipes, for one) is deleted with that folder.
    /// </summary>
    private static ProcessStartInfo StartInfo()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["TMPDIR"] = TestPaths.Root;
        return start;
    }

    /// <summary>Runs a command to completion and returns its exit code and combined output.</summary>
    public static Task<(int ExitCode, string Output)> RunAsync(params string[] arguments) => RunInAsync(null, [], arguments);

    /// <summary>Runs a command that may take longer than a minute (indexing a real corpus with the local model).</summary>
    public static async Task<(int ExitCode, string Output)> RunLongAsync(TimeSpan timeout, params string[] arguments)
    {
        var (code, stdout, stderr) = await RunSplitAsync(null, [], arguments, timeout);
        return (code, stdout + stderr);
    }

    /// <summary>Runs a command in <paramref name="directory"/> with <paramref name="environment"/> added (and no <c>VECTORIZER_CONFIG</c>).</summary>
    public static async Task<(int ExitCode, string Output)> RunInAsync(string? directory, Dictionary<string, string> environment, params string[] arguments)
    {
        var (code, stdout, stderr) = await RunSplitAsync(directory, environment, arguments);
        return (code, stdout + stderr);
    }

    /// <summary>Runs a command to completion; its exit code, standard output and standard error.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunSplitAsync(params string[] arguments) => RunSplitAsync(null, [], arguments);

    /// <summary>Runs a command in <paramref name="directory"/> with <paramref name="environment"/> added (and no <c>VECTORIZER_CONFIG</c> unless given there).</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunSplitInAsync(string? directory, Dictionary<string, string> environment, params string[] arguments) =>
        RunSplitAsync(directory, environment, arguments);

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunSplitAsync(string? directory, Dictionary<string, string> environment, string[] arguments, TimeSpan? timeout = null)
    {
        var start = StartInfo();
        if (directory is not null)
        {
            start.WorkingDirectory = directory;
        }

        start.Environment.Remove("VECTORIZER_CONFIG");
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.ArgumentList.Add(ExecutablePath());
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var child = Process.Start(start)!;
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        try
        {
            // Generous: indexing a real corpus takes tens of seconds on 2 cores, minutes on a loaded machine.
            await child.WaitForExitAsync().WaitAsync(timeout ?? TimeSpan.FromMinutes(5));
        }
        catch (TimeoutException)
        {
            child.Kill(entireProcessTree: true); // never leave a child behind
            throw;
        }

        return (child.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts <c>vectorizer</c> with any arguments and returns at once (output is collected in <see cref="Output"/>).</summary>
    public static VectorizerProcess Launch(params string[] arguments)
    {
        var start = StartInfo();
        start.ArgumentList.Add(ExecutablePath());
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("VECTORIZER_CONFIG");
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var child = new VectorizerProcess(process);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Starts <c>vectorizer serve</c> on a free port and waits until it listens.</summary>
    public static async Task<VectorizerProcess> StartAsync(string dataDir, params string[] extra)
    {
        var start = StartInfo();
        foreach (var argument in (string[])[ExecutablePath(), "serve", "--host", "127.0.0.1", "--port", "0", "--grpc-port", "0", "--data-dir", dataDir, .. extra])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("VECTORIZER_CONFIG");
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var child = new VectorizerProcess(process);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        process.Exited += (_, _) => child.listening.TrySetException(new InvalidOperationException("vectorizer exited early:\n" + child.Output));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        child.Url = await child.listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return child;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }

        var match = ListeningLine().Match(line);
        if (match.Success)
        {
            listening.TrySetResult(match.Groups[1].Value);
        }
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void Kill()
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    /// <summary>SIGTERM, then wait for a graceful exit.</summary>
    public async Task<int> TerminateAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }

    [GeneratedRegex(@"listening on (https?://\S+)")]
    private static partial Regex ListeningLine();
}
