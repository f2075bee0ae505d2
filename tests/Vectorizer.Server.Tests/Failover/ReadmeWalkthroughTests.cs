using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Vectorizer.Tests;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests.Failover;

/// <summary>
/// The README's "Three nodes on one machine" walkthrough, run as written: its <c>sh</c> blocks, in order, in one bash
/// session in a temporary directory, with <c>vectorizer</c> on the PATH (this build) and a real etcd. Only the fixed
/// ports (2379/2380, 1500n, 1600n, 700n) and <c>/tmp/vz-demo</c> are replaced by free ones and a temporary folder, so
/// the test can run beside anything else on the machine. The walkthrough's own output is checked: one master and two
/// replicas at one epoch, the point written through a replica read back from a third node, a new master at a larger
/// epoch after <c>kill -9</c>, and equal checksums once the old master has rejoined.
/// </summary>
[Trait("Category", "Slow")]
public sealed partial class ReadmeWalkthroughTests(ITestOutputHelper output)
{
    private const string Marker = "=====BLOCK=====";

    [SkippableFact]
    public async Task TheReadmesThreeNodeWalkthroughWorksAsWritten()
    {
        Prerequisites.Require(Need.Etcd, Need.Curl);
        var blocks = WalkthroughBlocks();
        Assert.Equal(4, blocks.Count);
        Assert.Contains("etcd --name demo", blocks[0], StringComparison.Ordinal);
        Assert.Contains("vectorizer serve --config node$n/config.yml", blocks[0], StringComparison.Ordinal);

        var demo = TestPaths.NewDirectory("readme-demo");
        var bin = Directory.CreateDirectory(Path.Combine(demo, "bin")).FullName;
        var vectorizer = Path.Combine(bin, "vectorizer");
        await File.WriteAllTextAsync(vectorizer, $"#!/bin/sh\nexec dotnet '{VectorizerProcess.ExecutablePath()}' \"$@\"\n");
        File.SetUnixFileMode(vectorizer, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var folder = Path.Combine(demo, "vz-demo");

        var script = new StringBuilder();
        for (var i = 0; i < blocks.Count; i++)
        {
            script.AppendLine(CultureInfo.InvariantCulture, $"echo {Marker}{i}");
            script.AppendLine(Rewrite(blocks[i], folder));
            if (i == 0)
            {
                script.AppendLine("jobs -p %1 > etcd.pid"); // for the test's clean-up
            }
        }

        // The README's "Stop everything" line.
        script.AppendLine(CultureInfo.InvariantCulture, $"echo {Marker}stop");
        script.AppendLine(Rewrite(StopCommand(), folder));
        script.AppendLine("wait");
        var scriptPath = Path.Combine(demo, "walkthrough.sh");
        await File.WriteAllTextAsync(scriptPath, script.ToString());
        output.WriteLine(script.ToString());

        var start = new ProcessStartInfo("bash", [scriptPath]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = demo };
        start.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
        start.Environment["TMPDIR"] = TestPaths.Root;
        start.Environment.Remove("VECTORIZER_CONFIG");
        using var bash = Process.Start(start)!;
        var stdout = bash.StandardOutput.ReadToEndAsync();
        var stderr = bash.StandardError.ReadToEndAsync();
        try
        {
            await bash.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(4));
        }
        finally
        {
            KillLeftovers(folder);
        }

        var text = await stdout;
        output.WriteLine(text);
        output.WriteLine(await stderr);
        var parts = text.Split(Marker);
        Assert.True(parts.Length == 6, "the walkthrough did not run to its end:\n" + text + Logs(folder));

        // Block 1: one master, two replicas, one epoch.
        var first = Statuses(parts[1]);
        Assert.True(first.Count == 3, "three status lines expected:\n" + parts[1] + Logs(folder));
        Assert.True(first.Count(s => s.Role == "master") == 1 && first.Count(s => s.Role == "replica") == 2, parts[1] + Logs(folder));
        Assert.Single(first.Select(s => s.Epoch).Distinct());

        // Block 2: the collection made on one node, the point written through another, read on the third.
        Assert.Contains("\"city\":\"Berlin\"", parts[2].Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);

        // Block 3: a new master at a larger epoch; the killed one does not answer.
        var after = Statuses(parts[3]);
        var oldMaster = first.Single(s => s.Role == "master");
        Assert.True(after.Count == 2, "two live nodes expected after kill -9:\n" + parts[3] + Logs(folder));
        var newMaster = Assert.Single(after, s => s.Role == "master");
        Assert.NotEqual(oldMaster.NodeId, newMaster.NodeId);
        Assert.True(newMaster.Epoch > oldMaster.Epoch, parts[3]);

        // Block 4: the old master rejoined; every node's checksum is the same.
        var sums = Regex.Matches(parts[4], "^[0-9a-f]{64}", RegexOptions.Multiline).Select(m => m.Value).ToList();
        Assert.True(sums.Count == 3 && sums.Distinct().Count() == 1, "checksums differ:\n" + parts[4] + Logs(folder));
    }

    private sealed record Status(string NodeId, string Role, long Epoch);

    /// <summary>The walkthrough prints one line per node: <c>"role": "master",  "node_id": "node-1",  "epoch": 2,</c>.</summary>
    private static List<Status> Statuses(string text) =>
        [.. StatusLine().Matches(text).Select(m => new Status(m.Groups["id"].Value, m.Groups["role"].Value, long.Parse(m.Groups["epoch"].Value, CultureInfo.InvariantCulture)))];

    [GeneratedRegex("\"role\": \"(?<role>\\w+)\",\\s*\"node_id\": \"(?<id>[^\"]+)\",\\s*\"epoch\": (?<epoch>\\d+)")]
    private static partial Regex StatusLine();

    /// <summary>The <c>sh</c> blocks of the README's "### Three nodes on one machine", in order.</summary>
    private static List<string> WalkthroughBlocks()
    {
        var readme = File.ReadAllText(Path.Combine(VectorizerProcess.RepositoryRoot(), "README.md"));
        var section = Section(readme);
        return [.. Regex.Matches(section, "```sh\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value)];
    }

    private static string Section(string readme)
    {
        var start = readme.IndexOf("### Three nodes on one machine", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no \"### Three nodes on one machine\"");
        var end = readme.IndexOf("\n## ", start, StringComparison.Ordinal);
        return readme[start..(end < 0 ? readme.Length : end)];
    }

    /// <summary>The README's stop command, <c>kill $(cat node*/pid) %1</c>, quoted in its prose.</summary>
    private static string StopCommand()
    {
        var section = Section(File.ReadAllText(Path.Combine(VectorizerProcess.RepositoryRoot(), "README.md")));
        var match = Regex.Match(section, "Stop everything with `([^`]+)`");
        Assert.True(match.Success, "the walkthrough no longer says how to stop everything");
        return match.Groups[1].Value;
    }

    /// <summary>Free ports and a temporary folder for the README's fixed ones (the text is otherwise unchanged).</summary>
    private static string Rewrite(string block, string folder)
    {
        // Through placeholders, so that a replacement never matches inside another's value.
        (string Fixed, string Placeholder, string Value)[] swaps =
        [
            ("/tmp/vz-demo", "\u0001dir\u0001", folder),
            ("2379", "\u0001client\u0001", Ports.Value.Client),
            ("2380", "\u0001peer\u0001", Ports.Value.Peer),
            ("1500", "\u0001rest\u0001", Ports.Value.RestPrefix),
            ("1600", "\u0001grpc\u0001", Ports.Value.GrpcPrefix),
            (":700", "\u0001replication\u0001", ":" + Ports.Value.ReplicationPrefix),
        ];
        foreach (var swap in swaps)
        {
            block = block.Replace(swap.Fixed, swap.Placeholder, StringComparison.Ordinal);
        }

        foreach (var swap in swaps)
        {
            block = block.Replace(swap.Placeholder, swap.Value, StringComparison.Ordinal);
        }

        return block;
    }

    private static readonly Lazy<(string Client, string Peer, string RestPrefix, string GrpcPrefix, string ReplicationPrefix)> Ports = new(() =>
    {
        var rest = FreePrefix(4);
        var grpc = FreePrefix(4, rest);
        var replication = FreePrefix(3, rest, grpc);
        return (TestPorts.Free().ToString(CultureInfo.InvariantCulture), TestPorts.Free().ToString(CultureInfo.InvariantCulture), rest, grpc, replication);
    });

    /// <summary>A prefix P of <paramref name="digits"/> digits such that ports P1, P2, P3 are free (the README appends the node number).</summary>
    private static string FreePrefix(int digits, params string[] taken)
    {
        var random = new Random();
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var prefix = digits == 4 ? random.Next(2000, 6000) : random.Next(200, 600);
            var text = prefix.ToString(CultureInfo.InvariantCulture);
            if (!taken.Contains(text) && Enumerable.Range(1, 3).All(n => IsFree(int.Parse(text + n, CultureInfo.InvariantCulture))))
            {
                return text;
            }
        }

        throw new InvalidOperationException("no free port range");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }


    /// <summary>Kills what the walkthrough started and may have left (the nodes' and etcd's recorded pids only).</summary>
    private static void KillLeftovers(string folder)
    {
        var pidFiles = Directory.Exists(folder) ? Directory.GetFiles(folder, "pid", SearchOption.AllDirectories).Append(Path.Combine(folder, "etcd.pid")) : [];
        foreach (var file in pidFiles.Where(File.Exists))
        {
            foreach (var line in File.ReadAllLines(file))
            {
                if (int.TryParse(line.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                {
                    try
                    {
                        using var process = Process.GetProcessById(pid);
                        if (process.ProcessName is "dotnet" or "etcd" or "vectorizer")
                        {
                            process.Kill(entireProcessTree: true);
                        }
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                    {
                        // already gone
                    }
                }
            }
        }
    }

    private static string Logs(string folder) =>
        "\n" + string.Join("\n", Enumerable.Range(1, 3).Select(n => Path.Combine(folder, $"node{n}", "log")).Where(File.Exists)
            .Select(f => $"--- {f}:\n{string.Join('\n', File.ReadLines(f).TakeLast(40))}"));
}
