using Vectorizer.Ingestion.Chunking;

namespace Vectorizer.Server.Tests;

/// <summary>
/// A chunk's context (<see cref="Chunk.Context"/>): the document's title, summary line and the headings above the chunk,
/// found in Markdown, AsciiDoc (a git manual page, as Debian ships it) and plain text; never in the stored content.
/// </summary>
public sealed class DocumentOutlineTests
{
    [Fact]
    public void AManualPageGivesItsTitleNameLineAndSection()
    {
        var stash = File.Exists("/usr/share/doc/git-doc/git-stash.txt") ? File.ReadAllText("/usr/share/doc/git-doc/git-stash.txt") : null;
        const string page = """
            git-stash(1)
            ============

            NAME
            ----
            git-stash - Stash the changes in a dirty working directory away

            SYNOPSIS
            --------
            [verse]
            'git stash' list [<log-options>]

            DESCRIPTION
            -----------

            Use `git stash` when you want to record the current state of the
            working directory and the index.

            OPTIONS
            -------
            -a::
            --all::
            	This option is only valid for `push` and `save` commands.
            ----------------------------------------------------------------
            $ git stash list
            ----------------------------------------------------------------
            """;
        foreach (var text in stash is null ? [page] : new[] { page, stash })
        {
            var outline = DocumentOutline.Parse(text.Replace("\r\n", "\n", StringComparison.Ordinal), "git-stash.txt");
            Assert.Equal("git-stash(1)", outline.Title);
            Assert.Equal("git-stash - Stash the changes in a dirty working directory away", outline.Summary);
            var options = text.IndexOf("--all::", StringComparison.Ordinal);
            Assert.Equal(["OPTIONS"], outline.SectionPathAt(options));
            Assert.Equal("git-stash(1): git-stash - Stash the changes in a dirty working directory away\nOPTIONS", outline.ContextAt(options));
            Assert.DoesNotContain(outline.Headings, h => h.Text.StartsWith('-') || h.Text.StartsWith('$'));
        }
    }

    [Fact]
    public void MarkdownHeadingsNestAndFencesAreNotHeadings()
    {
        const string text = "# Guide\n\nHow to run the tool from a terminal. More text here.\n\n## Install\n\n### On Linux\n\n```sh\n# not a heading\nmake\n```\n\n## Usage\n\nCall it.\n";
        var outline = DocumentOutline.Parse(text, "docs/guide.md");
        Assert.Equal("Guide", outline.Title);
        Assert.Equal("How to run the tool from a terminal.", outline.Summary);
        Assert.Equal(["Install", "On Linux"], outline.SectionPathAt(text.IndexOf("make", StringComparison.Ordinal)));
        Assert.Equal(["Usage"], outline.SectionPathAt(text.IndexOf("Call it", StringComparison.Ordinal)));
        Assert.Equal(["Install", "On Linux", "Usage"], outline.Headings.Select(h => h.Text).ToArray());
    }

    [Fact]
    public void TextWithoutHeadingsIsNamedByItsFile()
    {
        var outline = DocumentOutline.Parse("just some notes\nabout nothing in particular\n", "notes/todo-list.txt");
        Assert.Equal("todo-list", outline.Title);
        Assert.Equal("just some notes about nothing in particular", outline.Summary);
        Assert.Empty(outline.SectionPathAt(10));
        Assert.Null(DocumentOutline.Parse("no title, no path", "").ContextAt(0));
    }

    [Fact]
    public void ChunksCarryTheirContextButTheirContentIsTheFilesText()
    {
        var text = "Guide\n=====\n\nWhat this guide is about.\n\nSetup\n-----\n\n" + string.Join("\n\n", Enumerable.Range(0, 40).Select(i => $"Paragraph {i} of the setup section, which goes on for a while."));
        var chunks = ChunkerPicker.ChunkText(text, "guide.txt", null, new ChunkerOptions { MaxChars = 400, Overlap = 50 });
        Assert.True(chunks.Count > 3);
        Assert.All(chunks, c => Assert.Contains(c.Content, text, StringComparison.Ordinal));
        Assert.Equal("Guide: What this guide is about.\nSetup", chunks[^1].Context);
        Assert.Null(ChunkerPicker.ChunkText("int main() { return 0; }\n", "main.c")[0].Context);
    }
}
