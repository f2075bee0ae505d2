using System.Net;
using System.Net.Sockets;

namespace Vectorizer.Server.Tests.Failover;

/// <summary>
/// A loopback TCP proxy that can stop forwarding: a network partition between its clients and
/// <c>target</c> without root (no iptables). <see cref="Partition"/> black-holes traffic the way a cut cable does:
/// connections stay open but nothing crosses them (bytes read are dropped) and new connections are accepted but never
/// reach the target, so the peers see timeouts, not resets. <see cref="Heal"/> resumes forwarding for new
/// connections and aborts the ones that lived through the partition (as their TCP timeouts eventually would).
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint target;
    private readonly CancellationTokenSource stop = new();
    private readonly List<(Socket Client, Socket? Server)> connections = [];
    private readonly Task acceptLoop;
    private volatile bool forwarding = true;

    public TcpProxy(IPEndPoint target)
    {
        this.target = target;
        listener.Start();
        acceptLoop = AcceptAsync();
    }

    /// <summary>The proxy's own port (on 127.0.0.1).</summary>
    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>Bytes forwarded so far, both directions (a test can check that traffic did go through the proxy).</summary>
    public long BytesForwarded => Interlocked.Read(ref bytesForwarded);

    private long bytesForwarded;

    public bool Forwarding => forwarding;

    /// <summary>Stops forwarding: from now on nothing reaches the other side, in either direction.</summary>
    public void Partition() => forwarding = false;

    /// <summary>Forwards again: connections that lived through the partition are aborted, new ones go through.</summary>
    public void Heal()
    {
        List<(Socket Client, Socket? Server)> stale;
        lock (connections)
        {
            stale = [.. connections];
            connections.Clear();
            forwarding = true; // under the lock: a connection accepted from now on is forwarded, none is left black-holed
        }

        foreach (var (client, server) in stale)
        {
            Abort(client);
            if (server is not null)
            {
                Abort(server);
            }
        }
    }

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync(stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = HandleAsync(client);
        }
    }

    private async Task HandleAsync(Socket client)
    {
        lock (connections)
        {
            if (!forwarding)
            {
                // Accepted but never connected onward: the client's requests vanish.
                connections.Add((client, null));
                return;
            }
        }

        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await server.ConnectAsync(target, stop.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            Abort(client);
            server.Dispose();
            return;
        }

        lock (connections)
        {
            connections.Add((client, server));
        }

        var up = PumpAsync(client, server);
        var down = PumpAsync(server, client);
        await Task.WhenAny(up, down);
        Abort(client);
        Abort(server);
        lock (connections)
        {
            connections.Remove((client, server));
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
                if (read == 0)
                {
                    return;
                }

                if (!forwarding)
                {
                    continue; // black hole
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, stop.Token);
                Interlocked.Add(ref bytesForwarded, read);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private static void Abort(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0); // RST, not FIN
            socket.Close();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        await acceptLoop;
        Heal();
        stop.Dispose();
    }
}
