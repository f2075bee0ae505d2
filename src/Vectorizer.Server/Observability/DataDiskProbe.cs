using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Observability;

/// <summary>Free and total bytes of the file system that holds <c>data_dir</c>.</summary>
public sealed class DataDiskProbe(VectorizerSettings settings)
{
    private readonly string path = System.IO.Path.GetFullPath(settings.Server.DataDir);

    public string Path => path;

    /// <summary>Free bytes (available to this user) and total bytes; zeros when the directory cannot be read.</summary>
    public (long Free, long Total) Read()
    {
        try
        {
            var drive = new DriveInfo(path);
            return (drive.AvailableFreeSpace, drive.TotalSize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return (0, 0);
        }
    }
}
