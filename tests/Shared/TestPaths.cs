namespace Vectorizer.Tests;

/// <summary>
/// Where tests put files: one folder per test process, <c>$TMPDIR/vectorizer-tests/run-PID</c>. Each test deletes
/// what it creates (fixtures, <c>finally</c>); the folder is deleted as a whole when the test process exits, which
/// also removes what a failed test or a killed child process (whose <c>TMPDIR</c> points here) left behind.
/// </summary>
public static class TestPaths
{
    private static readonly Lazy<string> RunRoot = new(CreateRoot, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>This test process's folder (created on first use).</summary>
    public static string Root => RunRoot.Value;

    /// <summary>A new path under <see cref="Root"/>, not created.</summary>
    public static string NewPath(string prefix = "", string extension = "") =>
        Path.Combine(Root, prefix + Guid.NewGuid().ToString("N") + extension);

    /// <summary>A new, empty directory under <see cref="Root"/>.</summary>
    public static string NewDirectory(string prefix = "") => Directory.CreateDirectory(NewPath(prefix)).FullName;

    /// <summary>Deletes a file or a directory tree; never throws (a test's cleanup must not hide its failure).</summary>
    public static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path) && !File.GetAttributes(path).HasFlag(FileAttributes.ReparsePoint))
            {
                Directory.Delete(path, recursive: true);
            }
            else
            {
                File.Delete(path);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string CreateRoot()
    {
        var parent = Path.Combine(Path.GetTempPath(), "vectorizer-tests");
        var root = Directory.CreateDirectory(Path.Combine(parent, "run-" + Environment.ProcessId)).FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            TryDelete(root);
            try
            {
                Directory.Delete(parent); // only when empty: other test processes may be using it
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        };
        return root;
    }
}
