namespace Vectorizer.Bench;

/// <summary>
/// The questions of the git documentation relevance test (<c>GitDocsRelevanceTests</c>) and of the <c>relevance</c>
/// benchmark, with the pages of <c>/usr/share/doc/git-doc</c> that answer each (any one counts). Written from what
/// each page documents before any result was seen, and not changed after: the paraphrased ones avoid the answering
/// page's distinctive terms, the keyword ones use them.
/// </summary>
public static class GitDocsQuestions
{
    /// <summary>Questions in a user's words, and the pages that answer them.</summary>
    public static readonly (string Query, string[] Files)[] Paraphrased =
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
    public static readonly (string Query, string[] Files)[] Keyword =
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
}
