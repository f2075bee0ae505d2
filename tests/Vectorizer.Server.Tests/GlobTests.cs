using Vectorizer.Engine.Errors;
using Vectorizer.Ingestion.Files;

namespace Vectorizer.Server.Tests;

/// <summary>
/// <see cref="Glob"/> as a table: pattern, relative path, match. Semantics as documented on the type (gitignore's
/// anchoring: no <c>/</c> matches a name at any depth, a <c>/</c> anchors at the root; <c>*</c>, <c>?</c> and
/// bracket expressions never cross a <c>/</c>; <c>**</c> spans directories).
/// </summary>
public class GlobTests
{
    public static TheoryData<string, string, bool> Table => new()
    {
        // A name without a slash matches at any depth, and only whole names.
        { "*.md", "a.md", true },
        { "*.md", "docs/deep/a.md", true },
        { "*.md", "a.md.txt", false },
        { "*.md", "docs.md/a.txt", false },
        { "readme", "readme", true },
        { "readme", "docs/readme", true },
        { "readme", "readme.md", false },
        { "*", "anything/at/all", true },

        // A slash anchors at the root; a leading slash is optional, a trailing one ignored.
        { "docs/*.md", "docs/a.md", true },
        { "docs/*.md", "src/docs/a.md", false },
        { "docs/*.md", "docs/sub/a.md", false },
        { "/docs/a.md", "docs/a.md", true },
        { "/build", "build", true },
        { "/build", "src/build", false },
        { "build/", "src/build", true },

        // `*` and `?` stay within a name.
        { "a*b", "a/b", false },
        { "a?b", "a/b", false },
        { "a?b", "axb", true },
        { "a?b", "ab", false },
        { "src/*/x", "src/a/x", true },
        { "src/*/x", "src/a/b/x", false },

        // `**` spans any number of directories, none included.
        { "**/bin/**", "bin", true },
        { "**/bin/**", "bin/x.dll", true },
        { "**/bin/**", "a/b/bin/c/d", true },
        { "**/bin/**", "a/binary/c", false },
        { "**/bin/**", "a/xbin/c", false },
        { "docs/**", "docs", true },
        { "docs/**", "docs/a/b/c.md", true },
        { "docs/**", "docsx/a.md", false },
        { "docs/**/*.md", "docs/a.md", true },
        { "docs/**/*.md", "docs/x/y/a.md", true },
        { "docs/**/*.md", "docs/x/y/a.txt", false },
        { "a/**/b", "a/b", true },
        { "a/**/b", "a/x/y/b", true },
        { "a/**/b", "a/xb", false },
        { "**", "a/b/c", true },
        { "**/*.cs", "Program.cs", true },
        { "**/*.cs", "src/x/Program.cs", true },

        // Bracket expressions: sets, ranges, negation; never a slash.
        { "file[0-9].md", "file7.md", true },
        { "file[0-9].md", "filex.md", false },
        { "file[!0-9].md", "filex.md", true },
        { "file[!0-9].md", "file1.md", false },
        { "a[!x]b", "a/b", false },
        { "a[bc]d", "abd", true },
        { "a[bc]d", "aed", false },
        { "[]]x", "]x", true },
        { "[!]]x", "ax", true },
        { "[!]]x", "]x", false },
        { "x[.]y", "x.y", true },
        { "x[.]y", "xzy", false },
        { "a[*]", "a*", true },
        { "a[*]", "ab", false },

        // Braces: alternatives, which may hold wildcards.
        { "*.{md,txt}", "a/b.txt", true },
        { "*.{md,txt}", "b.rst", false },
        { "{src,docs}/*.md", "docs/a.md", true },
        { "{src,docs}/*.md", "test/a.md", false },
        { "{a*,b}.md", "alpha.md", true },

        // Everything else is literal: regex metacharacters, case.
        { "a.b", "axb", false },
        { "a+b(c).md", "a+b(c).md", true },
        { "^a$", "^a$", true },
        { "README.md", "readme.md", false },
        { "dir\\*.md", "dir/a.md", true },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void MatchesAsDocumented(string pattern, string path, bool matches) =>
        Assert.True(Glob.Parse(pattern).IsMatch(path) == matches, $"`{pattern}` {(matches ? "should" : "should not")} match `{path}`");

    public static TheoryData<string, string, bool> Parents => new()
    {
        { "build", "src/build/out/a.md", true },
        { "build", "src/builds/a.md", false },
        { "src/gen", "src/gen/a/b.cs", true },
        { "src/gen", "lib/src/gen/a.cs", false },
        { "*.tmp", "x.tmp/inner.md", true },
    };

    [Theory]
    [MemberData(nameof(Parents))]
    public void MatchesAPathOrADirectoryAboveIt(string pattern, string path, bool matches) =>
        Assert.Equal(matches, Glob.Parse(pattern).MatchesPathOrParent(path));

    [Theory]
    [InlineData("", "empty glob pattern")]
    [InlineData("   ", "empty glob pattern")]
    [InlineData("src/[abc", "`[` without `]`")]
    [InlineData("{a,b", "`{` without `}`")]
    [InlineData("{a,{b,c}}", "nested `{`")]
    [InlineData("[]", "`[` without `]`")]
    [InlineData("[!]", "`[` without `]`")]
    [InlineData("[z-a].md", "glob `[z-a].md`")]
    public void InvalidPatternsAreA400NamingThem(string pattern, string message)
    {
        var error = Assert.Throws<VectorizerException>(() => Glob.Parse(pattern));
        Assert.Equal(ErrorCode.BadRequest, error.Code);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
