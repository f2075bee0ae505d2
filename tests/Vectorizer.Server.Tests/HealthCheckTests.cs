using System.Text;
using System.Text.Json;

namespace Vectorizer.Server.Tests;

/// <summary>
/// The health check over HTTP and through the real <c>vectorizer</c> executable, on a dozen real files in a temporary
/// directory indexed with <c>POST /collections/{c}/documents</c>.
/// </summary>
public sealed class HealthCheckTests
{
    private const string Collection = "kb";
    private const string CreateBody = """{"embedding": {"dense": {"provider": "hash", "dimension": 64}, "sparse": {"provider": "bm25"}}}""";

    [Fact]
    public async Task HttpCheckFindsEachProblemAndFixRestoresAllPass()
    {
        using var corpus = new Corpus();
        await using var server = await TestServer.StartAsync(s => s.Security.AllowedRoots = [corpus.Root]);
        (await server.Put($"/collections/{Collection}", CreateBody)).AssertOk();
        await corpus.IndexAsync(server.Client);
        (await server.Put("/collections/plain", """{"vectors": {"size": 2, "distance": "Dot"}}""")).AssertOk();
        var root = Uri.EscapeDataString(corpus.Root);

        (await server.Get($"/api/health-check?collection={Collection}")).AssertError(400, "no stored source root");
        (await server.Get($"/api/health-check?collection={Collection}&root={root}&fix=true")).AssertError(400, "use POST");
        (await server.Get($"/api/health-check?collection=nope&root={root}")).AssertError(404, "nope");

        var clean = (await server.Get($"/api/health-check?collection={Collection}&root={root}")).AssertOk().Result;
        Assert.Equal("PASS", clean.GetProperty("status").GetString());
        var checks = clean.GetProperty("collections")[0].GetProperty("checks");
        Assert.All(checks.EnumerateObject(), c => Assert.Equal("PASS", c.Value.GetProperty("status").GetString()));
        Assert.Equal(Corpus.Files.Length, checks.GetProperty("missing_embeddings").GetProperty("eligible_files").GetInt32());
        Assert.Equal(100, checks.GetProperty("missing_embeddings").GetProperty("coverage_percent").GetDouble());

        await corpus.Damage(server.Client);
        var damaged = (await server.Get($"/api/health-check?collection={Collection}&root={root}&examples=3")).AssertOk().Result;
        Assert.Equal("FAIL", damaged.GetProperty("status").GetString());
        Corpus.AssertDamageFound(damaged.GetProperty("collections")[0]);

        var fixedReport = (await server.Post($"/api/health-check?collection={Collection}&root={root}&fix=true", "")).AssertOk().Result;
        var kb = fixedReport.GetProperty("collections")[0];
        Assert.True(fixedReport.GetProperty("fix").GetBoolean());
        Assert.Equal("PASS", kb.GetProperty("status").GetString());
        Assert.All(kb.GetProperty("checks").EnumerateObject(), c => Assert.Equal("PASS", c.Value.GetProperty("status").GetString()));
        Corpus.AssertDamageFound(kb.GetProperty("before"));
        var fix = kb.GetProperty("fix");
        Assert.Equal(corpus.OldChunks, fix.GetProperty("deleted_points").GetInt32());
        Assert.Equal(1, fix.GetProperty("indexed_files").GetInt32());
        Assert.Equal(3, fix.GetProperty("reindexed_files").GetInt32()); // the edited file, the zero vector's and the stripped payload's
        Assert.Equal(0, fix.GetProperty("skipped").GetArrayLength());

        // The fix stored the root: `all` needs none now; the collection without an embedding section is skipped (INFO).
        var all = (await server.Get("/api/health-check")).AssertOk().Result;
        Assert.Equal("INFO", all.GetProperty("status").GetString());
        var byName = all.GetProperty("collections").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal("PASS", byName[Collection].GetProperty("status").GetString());
        Assert.Equal(corpus.Root, byName[Collection].GetProperty("source_root").GetString());
        Assert.Equal("INFO", byName["plain"].GetProperty("status").GetString());

        // The re-indexed chunks are ordinary chunks: searchable, and the edited text is what is stored.
        var hits = (await server.Post($"/collections/{Collection}/search/text", """{"query": "retry with exponential backoff", "limit": 1}""")).AssertOk().Result;
        Assert.Equal("src/app.py", hits.GetProperty("points")[0].GetProperty("payload").GetProperty("file_path").GetString());
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task CommandRefusesALockedDataDirectoryThenChecksAndFixes()
    {
        using var corpus = new Corpus();
        var dataDir = TestServer.NewDataDir();
        var report = Path.Combine(corpus.Root, "..", Path.GetFileName(corpus.Root) + "-report.json");
        try
        {
            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                (await server.Put($"/collections/{Collection}", CreateBody)).AssertOk();
                await corpus.IndexAsync(server.Client);
                await corpus.Damage(server.Client);

                var (locked, lockedOutput) = await VectorizerProcess.RunAsync("health-check", "--data-dir", dataDir, "--root", corpus.Root);
                Assert.Equal(2, locked);
                Assert.Contains("is in use by another Vectorizer process", lockedOutput, StringComparison.Ordinal);
            }

            var (code, output) = await VectorizerProcess.RunAsync("health-check", "--data-dir", dataDir, "--collection", Collection, "--root", corpus.Root, "--output", report);
            Assert.True(code == 1, output);
            Assert.Contains("orphaned_embeddings  FAIL", output, StringComparison.Ordinal);
            using (var json = JsonDocument.Parse(await File.ReadAllBytesAsync(report)))
            {
                Assert.Equal("FAIL", json.RootElement.GetProperty("status").GetString());
                Corpus.AssertDamageFound(json.RootElement.GetProperty("collections")[0]);
            }

            (code, output) = await VectorizerProcess.RunAsync("health-check", "--data-dir", dataDir, "--root", corpus.Root, "--fix", "--output", report);
            Assert.True(code == 0, output);
            Assert.Contains("before: FAIL", output, StringComparison.Ordinal);
            using (var json = JsonDocument.Parse(await File.ReadAllBytesAsync(report)))
            {
                var kb = json.RootElement.GetProperty("collections")[0];
                Assert.Equal("PASS", kb.GetProperty("status").GetString());
                Assert.Equal("FAIL", kb.GetProperty("before").GetProperty("status").GetString());
                Assert.Equal(corpus.OldChunks, kb.GetProperty("fix").GetProperty("deleted_points").GetInt32());
            }

            // The root is stored now; a plain run passes.
            (code, output) = await VectorizerProcess.RunAsync("health-check", "--data-dir", dataDir);
            Assert.True(code == 0, output);
            Assert.Contains("health-check: PASS", output, StringComparison.Ordinal);

            (code, output) = await VectorizerProcess.RunAsync("health-check", "--data-dir", dataDir, "--collection", "nope");
            Assert.Equal(2, code);
            Assert.Contains("`nope` doesn't exist", output, StringComparison.Ordinal);
            (code, _) = await VectorizerProcess.RunAsync("health-check", "--data-dir", dataDir, "--examples", "many");
            Assert.Equal(2, code);
        }
        finally
        {
            TestServer.TryDelete(dataDir);
            File.Delete(report);
        }
    }

    /// <summary>Twelve source files (and some that are not eligible) under a temporary root.</summary>
    private sealed class Corpus : IDisposable
    {
        public static readonly string[] Files =
        [
            "README.md", "docs/guide.md", "docs/old.md", "docs/faq.md", "src/app.py", "src/util.cs",
            "src/lib/math.ts", "src/lib/strings.go", "notes/todo.txt", "notes/ideas.txt", "config/settings.yaml", "scripts/build.sh",
        ];

        public Corpus()
        {
            Root = TestPaths.NewPath("corpus-");
            for (var i = 0; i < Files.Length; i++)
            {
                Write(Files[i], Text(Files[i], i));
            }

            // Not eligible: hidden, excluded directories, binary, empty.
            Write(".hidden.md", "# Hidden\n\nnot indexed");
            Write("node_modules/pkg/index.js", "module.exports = 1;\n");
            Write("bin/out.json", "{}\n");
            Write("image.png", "\u0089PNG\r\n\u001a\n\0\0\0\rIHDR");
            Write("empty.md", "");
        }

        public string Root { get; }

        /// <summary>Points of docs/old.md, the file <see cref="Damage"/> deletes.</summary>
        public int OldChunks { get; private set; }

        public async Task IndexAsync(HttpClient client)
        {
            var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteStartArray("documents");
                foreach (var file in Files)
                {
                    w.WriteStartObject();
                    if (file == "docs/guide.md")
                    {
                        w.WriteNumber("id", 7); // chunk ids from the document id, not the path: the fix must still replace them
                    }

                    w.WriteString("text", File.ReadAllText(Path.Combine(Root, file)));
                    w.WriteStartObject("metadata");
                    w.WriteString("file_path", file);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteBoolean("chunk", true);
                w.WriteEndObject();
            }

            (await client.SendJson(HttpMethod.Post, $"/collections/{Collection}/documents?wait=true", Encoding.UTF8.GetString(buffer.ToArray()))).AssertOk();
            OldChunks = (await PointsOf(client, "docs/old.md")).Count;
            Assert.True(OldChunks >= 2, $"docs/old.md has {OldChunks} chunks");
        }

        /// <summary>One problem of each kind: a deleted, an added and an edited file, a zero vector, a removed payload field.</summary>
        public async Task Damage(HttpClient client)
        {
            File.Delete(Path.Combine(Root, "docs/old.md"));
            Write("notes/new.md", "# New\n\nA file added after indexing.\n");
            File.AppendAllText(Path.Combine(Root, "src/app.py"), "\n\ndef fetch_with_retry(url):\n    # retry with exponential backoff\n    return download(url)\n");
            var guide = (await PointsOf(client, "docs/guide.md"))[0];
            var zeros = string.Join(", ", Enumerable.Repeat("0", 64));
            (await client.SendJson(HttpMethod.Put, $"/collections/{Collection}/points/vectors?wait=true", $$$"""{"points": [{"id": {{{guide}}}, "vector": {"dense": [{{{zeros}}}]}}]}""")).AssertOk();
            var util = (await PointsOf(client, "src/util.cs"))[0];
            (await client.SendJson(HttpMethod.Post, $"/collections/{Collection}/points/payload/delete?wait=true", $$"""{"keys": ["content_hash"], "points": [{{util}}]}""")).AssertOk();
        }

        /// <summary>Asserts the five failures <see cref="Damage"/> causes, in a collection's report (or its <c>before</c>).</summary>
        public static void AssertDamageFound(JsonElement collection)
        {
            Assert.Equal("FAIL", collection.GetProperty("status").GetString());
            var checks = collection.GetProperty("checks");
            foreach (var check in checks.EnumerateObject())
            {
                Assert.True(check.Value.GetProperty("status").GetString() == "FAIL", $"{check.Name}: {check.Value}");
                Assert.Equal(1, check.Value.GetProperty("count").GetInt32());
            }

            Assert.Equal("docs/old.md", Example(checks, "orphaned_embeddings").GetProperty("file_path").GetString());
            var missing = checks.GetProperty("missing_embeddings");
            Assert.Equal("notes/new.md", Example(checks, "missing_embeddings").GetProperty("file_path").GetString());
            Assert.Equal(Files.Length, missing.GetProperty("eligible_files").GetInt32()); // one deleted, one added
            Assert.Equal(Math.Round(100.0 * (Files.Length - 1) / Files.Length, 2), missing.GetProperty("coverage_percent").GetDouble());
            Assert.Equal("src/app.py", Example(checks, "content_sync").GetProperty("file_path").GetString());
            Assert.Equal(1, checks.GetProperty("integrity").GetProperty("zero_vectors").GetInt32());
            Assert.Equal("docs/guide.md", Example(checks, "integrity").GetProperty("file_path").GetString());
            Assert.Contains("all zeros", Example(checks, "integrity").GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Equal(1, checks.GetProperty("metadata").GetProperty("missing_fields").GetProperty("content_hash").GetInt32());
            Assert.Equal("src/util.cs", Example(checks, "metadata").GetProperty("file_path").GetString());
        }

        private static JsonElement Example(JsonElement checks, string check) => checks.GetProperty(check).GetProperty("examples")[0];

        private static async Task<List<string>> PointsOf(HttpClient client, string file)
        {
            var body = $$$"""{"filter": {"must": [{"key": "file_path", "match": {"value": "{{{file}}}"}}]}, "limit": 100, "with_payload": false}""";
            var points = (await client.SendJson(HttpMethod.Post, $"/collections/{Collection}/points/scroll", body)).AssertOk().Result.GetProperty("points");
            return points.EnumerateArray().Select(p => p.GetProperty("id").GetRawText()).ToList();
        }

        private void Write(string relative, string text)
        {
            var path = Path.Combine(Root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
        }

        /// <summary>A few paragraphs (markdown sections, code blocks or text) of the file's kind, distinct per file.</summary>
        private static string Text(string file, int seed)
        {
            var topic = Path.GetFileNameWithoutExtension(file);
            var builder = new StringBuilder();
            for (var section = 0; section < 3; section++)
            {
                var paragraph = string.Join(" ", Enumerable.Range(0, 40).Select(w => $"{topic}{(seed * 7) + section + w}"));
                builder.Append(Path.GetExtension(file) switch
                {
                    ".md" => $"# {topic} part {section}\n\n{paragraph}\n\n",
                    ".py" => $"def {topic}_{section}():\n    return \"{paragraph}\"\n\n",
                    ".cs" or ".ts" or ".go" => $"// {topic} {section}\nfunction {topic}{section}() {{\n  return \"{paragraph}\";\n}}\n\n",
                    _ => paragraph + "\n\n",
                });
            }

            return builder.ToString();
        }

        public void Dispose() => TestServer.TryDelete(Root);
    }
}
