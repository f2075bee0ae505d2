using System.Text.Json;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>
/// A real corpus: the reStructuredText sources of the Python 3.11 documentation (Debian's <c>python3.11-doc</c>,
/// installed by <c>.ci/run</c>). <c>library/</c> and <c>tutorial/</c> are indexed with <c>vectorizer index</c> and the
/// default embedders (dense hash + sparse BM25); hybrid search must put a file that answers the question in the top 5
/// for at least 80 % of the questions below.
/// </summary>
public sealed class PythonDocsSearchTests(ITestOutputHelper output)
{
    public const string Corpus = Prerequisites.PythonDocsCorpus;

    /// <summary>Questions and the files that answer them (any one counts), written before measuring.</summary>
    private static readonly (string Query, string[] Files)[] Questions =
    [
        ("how to read a csv file", ["library/csv.rst.txt"]),
        ("parse command line arguments", ["library/argparse.rst.txt", "library/optparse.rst.txt", "library/getopt.rst.txt"]),
        ("serialize python objects to json", ["library/json.rst.txt", "library/pickle.rst.txt"]),
        ("regular expression match groups", ["library/re.rst.txt"]),
        ("run a shell command and capture its output", ["library/subprocess.rst.txt"]),
        ("compute the sha256 hash of data", ["library/hashlib.rst.txt"]),
        ("generate cryptographically secure random tokens", ["library/secrets.rst.txt"]),
        ("sqlite database connection cursor execute", ["library/sqlite3.rst.txt"]),
        ("compress data with gzip", ["library/gzip.rst.txt", "library/zlib.rst.txt"]),
        ("read and write zip archives", ["library/zipfile.rst.txt"]),
        ("create a temporary file or directory", ["library/tempfile.rst.txt"]),
        ("copy a directory tree recursively", ["library/shutil.rst.txt"]),
        ("object oriented filesystem paths", ["library/pathlib.rst.txt"]),
        ("log messages to a file with handlers and formatters", ["library/logging.rst.txt", "library/logging.handlers.rst.txt", "library/logging.config.rst.txt"]),
        ("write unit tests with assertions", ["library/unittest.rst.txt"]),
        ("mock objects and patching in tests", ["library/unittest.mock.rst.txt", "library/unittest.mock-examples.rst.txt"]),
        ("run coroutines concurrently with async await tasks", ["library/asyncio-task.rst.txt", "library/asyncio.rst.txt"]),
        ("thread pool executor futures", ["library/concurrent.futures.rst.txt"]),
        ("spawn processes and share data between them", ["library/multiprocessing.rst.txt"]),
        ("lock and condition variables for threads", ["library/threading.rst.txt"]),
        ("dates, times, time zones and timedelta arithmetic", ["library/datetime.rst.txt", "library/zoneinfo.rst.txt"]),
        ("decimal fixed point arithmetic and rounding", ["library/decimal.rst.txt"]),
        ("mean median and standard deviation", ["library/statistics.rst.txt"]),
        ("heap queue priority queue algorithm", ["library/heapq.rst.txt", "library/queue.rst.txt"]),
        ("binary search in a sorted list", ["library/bisect.rst.txt"]),
        ("named tuple, deque and counter containers", ["library/collections.rst.txt"]),
        ("iterator building blocks permutations combinations", ["library/itertools.rst.txt"]),
        ("cache function results with lru_cache", ["library/functools.rst.txt"]),
        ("dataclass decorator fields and default values", ["library/dataclasses.rst.txt"]),
        ("type hints generics Protocol TypedDict", ["library/typing.rst.txt"]),
        ("enumerations with enum members", ["library/enum.rst.txt"]),
        ("parse xml with ElementTree", ["library/xml.etree.elementtree.rst.txt"]),
        ("open a URL and fetch a web page", ["library/urllib.request.rst.txt"]),
        ("send an email with SMTP", ["library/smtplib.rst.txt", "library/email.examples.rst.txt"]),
        ("low level network sockets connect bind listen", ["library/socket.rst.txt"]),
        ("TLS SSL wrap a socket with certificates", ["library/ssl.rst.txt"]),
        ("handling exceptions with try except finally", ["tutorial/errors.rst.txt"]),
        ("defining classes, inheritance and instance variables", ["tutorial/classes.rst.txt"]),
        ("list comprehensions and dictionaries", ["tutorial/datastructures.rst.txt"]),
        ("floating point representation errors with 0.1", ["tutorial/floatingpoint.rst.txt"]),
        ("formatted string literals and reading files", ["tutorial/inputoutput.rst.txt"]),
        ("virtual environments and installing packages with pip", ["tutorial/venv.rst.txt", "library/venv.rst.txt"]),
        ("measure the execution time of small code snippets", ["library/timeit.rst.txt"]),
        ("debugger breakpoints and stepping through code", ["library/pdb.rst.txt"]),
        ("profiling where a program spends its time", ["library/profile.rst.txt"]),
        ("parse a TOML configuration file", ["library/tomllib.rst.txt"]),
        ("read INI configuration files", ["library/configparser.rst.txt"]),
        ("base64 encoding of binary data", ["library/base64.rst.txt"]),
        ("generate a universally unique identifier", ["library/uuid.rst.txt"]),
        ("pretty print nested data structures", ["library/pprint.rst.txt"]),
    ];

    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task HybridSearchFindsTheAnsweringFileInTheTopFive()
    {
        Prerequisites.Require(Need.PythonDocs);
        var work = TestPaths.NewPath("pydocs-");
        try
        {
            // library/ and tutorial/ under one root, so file_path is "library/csv.rst.txt".
            var root = Path.Combine(work, "docs");
            foreach (var part in (string[])["library", "tutorial"])
            {
                foreach (var file in Directory.EnumerateFiles(Path.Combine(Corpus, part), "*", SearchOption.AllDirectories))
                {
                    var target = Path.Combine(root, part, Path.GetRelativePath(Path.Combine(Corpus, part), file));
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    File.Copy(file, target);
                }
            }

            var dataDir = Path.Combine(work, "data");
            var (code, text) = await VectorizerProcess.RunAsync("index", root, "--collection", "pydocs", "--data-dir", dataDir, "--plain", "--provider", "hash");
            output.WriteLine(text);
            Assert.True(code == 0, text);
            var files = IndexCommandTests.Summary(text, "files indexed");
            var seconds = IndexCommandTests.SummaryValue(text, "seconds");
            Assert.True(files >= 300, $"only {files} files indexed");
            Assert.True(seconds < 60, $"indexing took {seconds} s");

            await using var server = await TestServer.StartAsync(dataDir: dataDir);
            var hits = 0;
            foreach (var (query, answers) in Questions)
            {
                var body = JsonSerializer.Serialize(new { query, limit = 5, mode = "hybrid" });
                var top = (await server.Post("/collections/pydocs/search/text", body)).AssertOk().Result.GetProperty("points").EnumerateArray()
                    .Select(p => p.GetProperty("payload").GetProperty("file_path").GetString()!).ToList();
                var hit = top.Exists(answers.Contains);
                hits += hit ? 1 : 0;
                output.WriteLine($"{(hit ? "hit " : "MISS")} {query} -> {string.Join(", ", top.Distinct())}");
            }

            var rate = (double)hits / Questions.Length;
            output.WriteLine($"python docs (library + tutorial): {files} files, {IndexCommandTests.Summary(text, "chunks")} chunks in {seconds:F1} s " +
                $"({IndexCommandTests.SummaryValue(text, "files/s"):F1} files/s, {IndexCommandTests.SummaryValue(text, "chunks/s"):F1} chunks/s); " +
                $"hybrid top-5 hit rate {rate:F3} ({hits}/{Questions.Length})");
            Assert.True(rate >= 0.8, $"hybrid top-5 hit rate {rate:F3} < 0.8");
        }
        finally
        {
            TestServer.TryDelete(work);
        }
    }
}
