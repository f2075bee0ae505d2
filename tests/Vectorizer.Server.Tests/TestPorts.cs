using System.Net;
using System.Net.Sockets;

namespace Vectorizer.Server.Tests;

/// <summary>Loopback ports for the processes the tests start.</summary>
internal static class TestPorts
{
    /// <summary>A port free now (the system's choice for a listener on port 0): there is a short race with others.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
