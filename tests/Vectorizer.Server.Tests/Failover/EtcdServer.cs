using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Vectorizer.Server.Tests.Failover;

/// <summary>
/// A real single-member etcd (Debian's <c>etcd-server</c>) of the test's own: free loopback ports, a temporary data
/// directory, stopped (and its directory deleted) on dispose. Call <c>Prerequisites.Require(Need.Etcd)</c> first.
/// </summary>
public sealed class EtcdServer : IAsyncDisposable
{
    private readonly StringBuilder output = new();
    private readonly string dataDir;
    private Process process;
    private bool disposed;

    private EtcdServer(Process process, string dataDir, int clientPort)
    {
        this.process = process;
        this.dataDir = dataDir;
        ClientPort = clientPort;
    }

    public int ClientPort { get; }

    /// <summary>The client URL (<c>http://127.0.0.1:PORT</c>), what <c>cluster.etcd.endpoints</c> lists.</summary>
    public string Endpoint => $"http://127.0.0.1:{ClientPort}";

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

    public static async Task<EtcdServer> StartAsync()
    {
        var dataDir = TestPaths.NewDirectory("etcd-");
        int clientPort = TestPorts.Free(), peerPort = TestPorts.Free();
        var server = new EtcdServer(null!, dataDir, clientPort);
        server.process = server.Launch(peerPort);
        await server.WaitHealthyAsync();
        return server;
    }

    private Process Launch(int peerPort)
    {
        var start = new ProcessStartInfo("etcd") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = dataDir };
        var client = Endpoint;
        var peer = $"http://127.0.0.1:{peerPort.ToString(CultureInfo.InvariantCulture)}";
        foreach (var argument in new[]
                 {
                     "--name", "test", "--data-dir", Path.Combine(dataDir, "member"),
                     "--listen-client-urls", client, "--advertise-client-urls", client,
                     "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                     "--initial-cluster", "test=" + peer, "--initial-cluster-state", "new",
                     "--logger", "zap", "--log-level", "warn",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        var started = Process.Start(start)!;
        started.OutputDataReceived += (_, e) => Append(e.Data);
        started.ErrorDataReceived += (_, e) => Append(e.Data);
        started.BeginOutputReadLine();
        started.BeginErrorReadLine();
        return started;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private async Task WaitHealthyAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                var health = await http.GetStringAsync(Endpoint + "/health");
                if (health.Contains("\"health\":\"true\"", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
            }
            catch (TaskCanceledException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
            }

            if (DateTime.UtcNow >= deadline || process.HasExited)
            {
                await DisposeAsync();
                throw new InvalidOperationException("etcd did not become healthy:\n" + Output);
            }

            await Task.Delay(100);
        }
    }


    public async ValueTask DisposeAsync()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        if (!process.HasExited)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        process.Dispose();
        TestPaths.TryDelete(dataDir);
    }
}
