using System.Globalization;
using System.Text;
using System.Text.Json;
using Vectorizer.Bench;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Measured relevance on a second real corpus: git's documentation (Debian's <c>git-doc</c>: the 247 AsciiDoc sources of
/// the manual pages and guides in <c>/usr/share/doc/git-doc</c>, 2.9 MB), indexed by <c>vectorizer index</c> with the
/// default embedders (dense <c>local</c>, all-MiniLM-L6-v2, + sparse BM25) and, for comparison, with dense <c>hash</c> +
/// BM25. Two sets of questions, each with the pages that answer it (any one in the top 5 results counts; text search
/// returns each document's best chunk only, by default):
/// <list type="bullet">
/// <item>questions in a user's own words, avoiding the answering page's distinctive terms (no command names, no
/// "stash", "bisect", "rebase", "reflog", ...): words do not help here, meaning has to;</item>
/// <item>keyword questions, the way someone who knows the command searches.</item>
/// </list>
/// They were written from what each page documents before any result was seen, and not changed after. The table of
/// hit rates for <c>hash</c>+<c>bm25</c>, <c>local</c> alone, <c>bm25</c> alone and <c>local</c>+<c>bm25</c> is printed
/// (bench/results/relevance-git-doc.md; <c>Vectorizer.Bench relevance</c> measures hit@1, hit@5 and MRR for indexing and
/// fusion variants on the same questions). The target is 0.75 on paraphrased and 0.95 on keyword questions; the keyword
/// one is met and asserted; the paraphrased one is met by the benchmark (0.476 before chunk headers and RRF k = 60, 0.595
/// with them, 0.690 with one chunk per document in the answer, 0.738 with page vectors fused per document, 0.762 with
/// pseudo-relevance feedback) and the measured level, less two questions, is asserted.
/// </summary>
public sealed class GitDocsRelevanceTests(ITestOutputHelper output)
{
    public const string Corpus = Prerequisites.GitDocsCorpus;

    /// <summary>Questions in a user's words, and the pages that answer them (<see cref="GitDocsQuestions"/>).</summary>
    internal static readonly (string Query, string[] Files)[] Paraphrased = GitDocsQuestions.Paraphrased;

    /// <summary>Questions with the command's own words.</summary>
    internal static readonly (string Query, string[] Files)[] Keyword = GitDocsQuestions.Keyword;

    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task TheDefaultEmbeddersAnswerQuestionsInAUsersWords()
    {
        Prerequisites.Require(Need.GitDocs);
        var work = TestPaths.NewPath("gitdocs-");
        try
        {
            // The top-level pages (not howto/ and technical/, which are for git's own developers), so file_path is "git-stash.txt".
            var root = Directory.CreateDirectory(Path.Combine(work, "docs")).FullName;
            foreach (var file in Directory.EnumerateFiles(Corpus, "*.txt"))
            {
                File.Copy(file, Path.Combine(root, Path.GetFileName(file)));
            }

            foreach (var (query, files) in Paraphrased.Concat(Keyword))
            {
                Assert.All(files, f => Assert.True(File.Exists(Path.Combine(root, f)), $"`{query}`: no {f} in the corpus"));
            }

            var dataDir = Path.Combine(work, "data");
            var (code, text) = await VectorizerProcess.RunLongAsync(TimeSpan.FromMinutes(10), "index", root, "--collection", "git", "--data-dir", dataDir, "--plain");
            output.WriteLine(text);
            Assert.True(code == 0, text);
            Assert.Contains("dense local (all-MiniLM-L6-v2) + sparse bm25", text, StringComparison.Ordinal);
            var localText = text;
            (code, text) = await VectorizerProcess.RunLongAsync(TimeSpan.FromMinutes(5), "index", root, "--collection", "git_hash", "--data-dir", dataDir, "--plain", "--provider", "hash");
            Assert.True(code == 0, text);

            await using var server = await TestServer.StartAsync(dataDir: dataDir);
            (string Name, string Collection, string Mode)[] setups =
            [
                ("hash + bm25", "git_hash", "hybrid"),
                ("local", "git", "dense"),
                ("bm25", "git", "sparse"),
                ("local + bm25 (default)", "git", "hybrid"),
            ];
            var table = new StringBuilder("| embedders | paraphrased (" + Paraphrased.Length + ") | keyword (" + Keyword.Length + ") |\n|---|---|---|\n");
            var rates = new Dictionary<string, (double Paraphrased, double Keyword)>();
            foreach (var (name, collection, mode) in setups)
            {
                var paraphrased = await HitRate(server, collection, mode, Paraphrased, name);
                var keyword = await HitRate(server, collection, mode, Keyword, name);
                rates[name] = (paraphrased, keyword);
                table.Append(CultureInfo.InvariantCulture, $"| {name} | {paraphrased:F3} | {keyword:F3} |\n");
            }

            output.WriteLine(table.ToString());
            output.WriteLine($"indexed with local + bm25: {IndexCommandTests.Summary(localText, "files indexed")} files, {IndexCommandTests.Summary(localText, "chunks")} chunks " +
                $"in {IndexCommandTests.SummaryValue(localText, "seconds"):F1} s ({IndexCommandTests.SummaryValue(localText, "chunks/s"):F1} chunks/s)");
            // The issue's target for paraphrased questions is 0.75; the default embedders with chunk headers, RRF k = 60,
            // one chunk per document in the answer, page vectors fused per document and pseudo-relevance feedback reach
            // 0.762, 32 of 42 (0.738 without feedback, 0.690 also without page vectors, 0.595 with several chunks per
            // document, 0.476 with neither header nor k = 60; bench/results/relevance-git-doc.md), so this guards what is
            // achieved, less two questions (30 of 42, a margin for a model's last-bit differences between machines), and
            // that meaning beats words. Keyword questions meet their target.
            var (para, key) = rates["local + bm25 (default)"];
            Assert.True(para >= 0.71, $"hybrid top-5 hit rate on paraphrased questions {para:F3} < 0.71 (measured 0.762)\n{table}");
            Assert.True(para > rates["hash + bm25"].Paraphrased, $"the local model does not beat hash on paraphrased questions\n{table}");
            Assert.True(key >= 0.95, $"hybrid top-5 hit rate on keyword questions {key:F3} < 0.95\n{table}");
        }
        finally
        {
            TestServer.TryDelete(work);
        }
    }

    private async Task<double> HitRate(TestServer server, string collection, string mode, (string Query, string[] Files)[] questions, string name)
    {
        var hits = 0;
        foreach (var (query, answers) in questions)
        {
            var body = JsonSerializer.Serialize(new { query, limit = 5, mode });
            var top = (await server.Post($"/collections/{collection}/search/text", body)).AssertOk().Result.GetProperty("points").EnumerateArray()
                .Select(p => p.GetProperty("payload").GetProperty("file_path").GetString()!).ToList();
            var hit = top.Exists(answers.Contains);
            hits += hit ? 1 : 0;
            if (!hit)
            {
                output.WriteLine($"{name}: MISS {query} -> {string.Join(", ", top.Distinct())}");
            }
        }

        return (double)hits / questions.Length;
    }
}
