using Vectorizer.Tests;

namespace Vectorizer.Server.Tests;

/// <summary>
/// One <c>vectorizer serve</c> process with replication on, on free loopback ports and in a directory of its own: the
/// node the replication, forwarding and operations tests start, kill and restart. The config is rewritten on every
/// start, so a restart may change the node's role or settings while keeping its ports and data.
/// </summary>
internal sealed class ReplicationNode : IAsyncDisposable
{
    private ReplicationNode(string id, string directory, bool grpc)
    {
        Id = id;
        Config = Path.Combine(directory, "config.yml");
        DataDir = Path.Combine(directory, "data");
        Port = TestPorts.Free();
        GrpcPort = grpc ? TestPorts.Free() : 0;
        ReplicationPort = TestPorts.Free();
    }

    public string Id { get; }

    public string Config { get; }

    public string DataDir { get; }

    public int Port { get; }

    /// <summary>0 when the node runs without gRPC.</summary>
    public int GrpcPort { get; }

    public int ReplicationPort { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public string GrpcUrl => $"http://127.0.0.1:{GrpcPort}";

    /// <summary>The running process (the last one started); null before the first start.</summary>
    public VectorizerProcess? Process { get; private set; }

    /// <summary>The <c>replication:</c> lines that make a node follow <paramref name="master"/>.</summary>
    public static string Follow(ReplicationNode master) =>
        $"  role: replica\n  master_address: \"127.0.0.1:{master.ReplicationPort}\"\n  reconnect_interval_secs: 1\n";


    /// <summary>
    /// Starts a new node and waits until it is ready. <paramref name="replication"/> holds the indented lines added to
    /// the <c>replication:</c> section (its role first), <paramref name="top"/> whole sections before it and
    /// <paramref name="extra"/> whole sections after <c>cluster:</c>.
    /// </summary>
    public static async Task<ReplicationNode> StartAsync(string prefix, string id, string replication, string top = "", string extra = "", bool grpc = false)
    {
        var node = new ReplicationNode(id, TestPaths.NewDirectory(prefix + id), grpc);
        try
        {
            await node.RestartAsync(replication, top, extra);
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the running process (if any), writes the config again and starts the node on its ports and data.</summary>
    public async Task RestartAsync(string replication, string top = "", string extra = "")
    {
        await StopAsync();
        var grpcLine = GrpcPort == 0 ? "grpc_enabled: false" : $"grpc_port: {GrpcPort}";
        await File.WriteAllTextAsync(Config, $"""
            server:
              host: "127.0.0.1"
              port: {Port}
              {grpcLine}
            {top}replication:
              enabled: true
              bind_address: "127.0.0.1:{ReplicationPort}"
              heartbeat_interval_secs: 1
            {replication}cluster:
              node_id: "{Id}"
              advertise_address: "{Url}"
            {extra}
            """);
        await RestartAsync();
    }

    /// <summary>Stops the running process (if any) and starts the node again with the config as it is.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        Process = VectorizerProcess.Launch("serve", "--config", Config, "--data-dir", DataDir);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        for (var i = 0; i < 600 && !Process.Process.HasExited; i++)
        {
            try
            {
                using var ready = await client.GetAsync(Url + "/readyz");
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{Id} not ready:\n{Process.Output}");
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task StopAsync()
    {
        if (Process is { } process)
        {
            Process = null;
            await process.DisposeAsync();
        }
    }
}
