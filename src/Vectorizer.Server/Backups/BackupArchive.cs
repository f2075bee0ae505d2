using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Storage;
using ZstdSharp;

namespace Vectorizer.Server.Backups;

/// <summary>
/// The backup archive, format <see cref="FormatVersion"/>: a tar file (POSIX pax, <c>System.Formats.Tar</c>), compressed with
/// gzip or zstd (ZstdSharp) or not at all, whose members are, in this order:
/// <code>
/// manifest.json                                   BackupManifest: collections, files (size, SHA-256, which archive holds each)
/// manifest.sha256                                 SHA-256 of manifest.json, lowercase hex
/// collections/&lt;name&gt;/&lt;path&gt;                        the files this archive holds, in manifest order
/// </code>
/// A collection's files, put in a folder at their paths, are a collection folder that opens at the manifest's LSN (see
/// <see cref="CollectionSnapshot"/>). Reading never trusts the archive: the manifest's checksum, every member's size
/// and SHA-256, members missing, unexpected, repeated or out of order, and a truncated stream are all refused with a
/// message that says which. Qdrant's snapshot API serves the same archives (as <c>.snapshot</c> files). The compression is
/// read from the file's first bytes (gzip's and zstd's magic numbers), so a reader needs no setting and reads all three.
/// </summary>
public static class BackupArchive
{
    /// <summary>Version 1: this layout. A newer one is refused; golden archives of every version are read by the tests.</summary>
    public const int FormatVersion = 1;

    public const string Kind = "vectorizer-backup";
    public const string ManifestMember = "manifest.json";
    public const string ManifestChecksumMember = "manifest.sha256";

    public static string Member(string collection, string path) => "collections/" + collection + "/" + path;

    /// <summary>SHA-256 and length of a stream, read to its end.</summary>
    public static (string Sha256, long Size) Hash(Stream stream)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        long size = 0;
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            sha.AppendData(buffer, 0, read);
            size += read;
        }

        return (Convert.ToHexStringLower(sha.GetHashAndReset()), size);
    }

    /// <summary>
    /// Writes the archive to <paramref name="path"/> atomically (a temporary file, fsynced, renamed): the manifest, then
    /// <paramref name="members"/> (the files whose <see cref="BackupFile.From"/> is null, each with its source). Returns
    /// the SHA-256 of the whole file (Qdrant's snapshot checksum).
    /// </summary>
    public static string Write(string path, BackupManifest manifest, IReadOnlyList<(string Member, SnapshotFile Source, BackupFile Entry)> members, Action<long>? progress = null)
    {
        var temporary = path + ".tmp";
        var manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, BackupManifestJson.Default.BackupManifest);
        try
        {
            string sha;
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                using var hashing = new HashingStream(file);
                using (var compressed = Compress(manifest.Compression, hashing))
                using (var tar = new TarWriter(compressed, TarEntryFormat.Pax, leaveOpen: true))
                {
                    WriteMember(tar, ManifestMember, new MemoryStream(manifestBytes), manifest.CreatedAt);
                    WriteMember(tar, ManifestChecksumMember, new MemoryStream(Encoding.ASCII.GetBytes(Convert.ToHexStringLower(SHA256.HashData(manifestBytes)))), manifest.CreatedAt);
                    foreach (var (member, source, entry) in members)
                    {
                        using var data = source.OpenRead();
                        if (data.Length != entry.Size)
                        {
                            throw new IOException($"{source.RelativePath} changed while the backup was written ({data.Length} bytes, {entry.Size} hashed)");
                        }

                        WriteMember(tar, member, data, manifest.CreatedAt);
                        progress?.Invoke(entry.Size);
                    }
                }

                sha = hashing.Sha256();
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: false);
            FileUtil.SyncDirectory(Path.GetDirectoryName(path)!);
            return sha;
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>zstd at level 3, its own default (why zstd at all: docs/architecture.md, "Backups and snapshots").</summary>
    public const int ZstdLevel = 3;

    private static Stream Compress(string compression, Stream destination) => compression switch
    {
        "gzip" => new GZipStream(destination, CompressionLevel.Fastest, leaveOpen: true),
        "zstd" => new CompressionStream(destination, ZstdLevel, leaveOpen: true),
        _ => new NonClosing(destination),
    };

    private static void WriteMember(TarWriter tar, string name, Stream data, DateTimeOffset time)
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = data, ModificationTime = time, Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
        tar.WriteEntry(entry);
    }

    /// <summary>Reads and checks the manifest only (the first two members): quick, for listings and before a full check.</summary>
    public static BackupManifest ReadManifest(string path)
    {
        using var reader = Open(path, out var tar);
        using (tar)
        {
            return ReadManifest(tar, path);
        }
    }

    /// <summary>
    /// Reads the whole archive and checks it: the manifest, then every member it holds (name, order, size, SHA-256),
    /// and that nothing else follows. Throws <see cref="VectorizerException"/> (bad request) saying what is wrong.
    /// </summary>
    public static BackupManifest Verify(string path, Action<long>? progress = null) => Read(path, null, progress);

    /// <summary>
    /// <see cref="Verify"/>, writing each member <paramref name="destination"/> gives a folder for (by collection and
    /// path) to <c>folder/path</c>, fsynced. A member is checked as it is written; on any error the caller discards the
    /// folders.
    /// </summary>
    public static BackupManifest Extract(string path, Func<string, string, string?> destination, Action<long>? progress = null) => Read(path, destination, progress);

    private static BackupManifest Read(string path, Func<string, string, string?>? destination, Action<long>? progress)
    {
        using var stream = Open(path, out var tar);
        using (tar)
        {
            var manifest = ReadManifest(tar, path);
            var directories = new HashSet<string>(StringComparer.Ordinal);
            try
            {
                foreach (var collection in manifest.Collections)
                {
                    foreach (var file in collection.Files)
                    {
                        if (file.From is not null)
                        {
                            continue;
                        }

                        var folder = destination?.Invoke(collection.Name, file.Path);

                        var member = Member(collection.Name, file.Path);
                        var entry = tar.GetNextEntry(copyData: false) ?? throw Invalid(path, $"member `{member}` is missing (the archive ends before it: truncated?)");
                        if (entry.Name != member)
                        {
                            throw Invalid(path, $"member `{member}` is missing (found `{entry.Name}` in its place)");
                        }

                        if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.Length != file.Size)
                        {
                            throw Invalid(path, $"member `{member}` has {entry.Length} bytes, the manifest says {file.Size}");
                        }

                        string sha;
                        if (folder is null)
                        {
                            (sha, _) = Hash(entry.DataStream ?? Stream.Null);
                        }
                        else
                        {
                            var target = Path.Combine(folder, file.Path.Replace('/', Path.DirectorySeparatorChar));
                            var parent = Path.GetDirectoryName(target)!;
                            if (directories.Add(parent))
                            {
                                Directory.CreateDirectory(parent);
                            }

                            using var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                            using var hashing = new HashingStream(output);
                            (entry.DataStream ?? Stream.Null).CopyTo(hashing, 1 << 16);
                            output.Flush(flushToDisk: true);
                            sha = hashing.Sha256();
                        }

                        if (sha != file.Sha256)
                        {
                            throw Invalid(path, $"member `{member}` is damaged: its SHA-256 is {sha}, the manifest says {file.Sha256}");
                        }

                        progress?.Invoke(file.Size);
                    }
                }

                if (tar.GetNextEntry(copyData: false) is { } extra)
                {
                    throw Invalid(path, $"unexpected member `{extra.Name}` after the last file the manifest names");
                }
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ZstdException)
            {
                throw Invalid(path, $"the archive is damaged or truncated ({e.Message})");
            }

            foreach (var directory in directories)
            {
                FileUtil.SyncDirectory(directory);
            }

            return manifest;
        }
    }

    private static Stream Open(string path, out TarReader tar)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new VectorizerException(ErrorCode.SnapshotNotFound, $"No backup or snapshot at `{path}`");
        }

        var magic = new byte[4];
        var read = file.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        file.Position = 0;
        Stream stream = read switch
        {
            >= 2 when magic[0] == 0x1f && magic[1] == 0x8b => new GZipStream(file, CompressionMode.Decompress),
            4 when magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd => new DecompressionStream(file, leaveOpen: false),
            _ => file,
        };
        tar = new TarReader(stream, leaveOpen: true);
        return stream;
    }

    private static BackupManifest ReadManifest(TarReader tar, string path)
    {
        byte[] manifestBytes;
        string checksum;
        try
        {
            manifestBytes = ReadSmallMember(tar, ManifestMember, path);
            checksum = Encoding.ASCII.GetString(ReadSmallMember(tar, ManifestChecksumMember, path)).Trim();
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ZstdException)
        {
            throw Invalid(path, $"not a readable archive ({e.Message})");
        }

        var actual = Convert.ToHexStringLower(SHA256.HashData(manifestBytes));
        if (actual != checksum)
        {
            throw Invalid(path, $"manifest.json is damaged: its SHA-256 is {actual}, manifest.sha256 says {checksum}");
        }

        BackupManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(manifestBytes, BackupManifestJson.Default.BackupManifest) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw Invalid(path, $"manifest.json does not parse: {e.Message}");
        }

        if (manifest.Kind != Kind)
        {
            throw Invalid(path, $"not a Vectorizer backup (kind `{manifest.Kind}`)");
        }

        if (manifest.Format > FormatVersion)
        {
            throw Invalid(path, $"written in backup format {manifest.Format} by a newer Vectorizer; this one reads format {FormatVersion}");
        }

        if (manifest.Format < 1 || manifest.Id.Length == 0 || manifest.Type is not ("full" or "incremental") || (manifest.Type == "incremental") != (manifest.Parent is not null))
        {
            throw Invalid(path, "manifest.json is inconsistent (format, id, type or parent)");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var collection in manifest.Collections)
        {
            try
            {
                CollectionNames.Validate(collection.Name);
            }
            catch (VectorizerException e)
            {
                throw Invalid(path, $"manifest names a bad collection: {e.Message}");
            }

            if (!names.Add(collection.Name))
            {
                throw Invalid(path, $"manifest names collection `{collection.Name}` twice");
            }

            var paths = new HashSet<string>(StringComparer.Ordinal);
            foreach (var file in collection.Files)
            {
                if (!SafeRelative(file.Path) || !paths.Add(file.Path) || file.Size < 0 || file.Sha256.Length != 64 ||
                    (file.From is not null && !manifest.Chain.Contains(file.From)))
                {
                    throw Invalid(path, $"manifest entry `{collection.Name}/{file.Path}` is invalid");
                }
            }

            if (!paths.Contains(CollectionConfigFile.FileName))
            {
                throw Invalid(path, $"collection `{collection.Name}` has no {CollectionConfigFile.FileName}");
            }
        }

        return manifest;
    }

    private static byte[] ReadSmallMember(TarReader tar, string name, string path)
    {
        var entry = tar.GetNextEntry(copyData: false) ?? throw Invalid(path, $"member `{name}` is missing (empty or truncated archive)");
        if (entry.Name != name)
        {
            throw Invalid(path, $"member `{name}` is missing (found `{entry.Name}` in its place)");
        }

        if (entry.Length > 64 << 20)
        {
            throw Invalid(path, $"member `{name}` is implausibly large ({entry.Length} bytes)");
        }

        using var copy = new MemoryStream();
        entry.DataStream?.CopyTo(copy);
        return copy.ToArray();
    }

    private static bool SafeRelative(string path) =>
        path.Length > 0 && path.Length < 1024 && !path.StartsWith('/') && !path.Contains('\\', StringComparison.Ordinal) && !path.Contains('\0', StringComparison.Ordinal) &&
        path.Split('/').All(part => part.Length > 0 && part is not ("." or ".."));

    private static VectorizerException Invalid(string path, string problem) =>
        VectorizerException.BadRequest($"Backup `{Path.GetFileName(path)}` is invalid: {problem}. Nothing was changed");

    /// <summary>Writes through to a stream and hashes what passes.</summary>
    private sealed class HashingStream(Stream inner) : Stream
    {
        private readonly IncrementalHash sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public string Sha256() => Convert.ToHexStringLower(sha.GetHashAndReset());

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            sha.AppendData(buffer);
            inner.Write(buffer);
        }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                sha.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>The file stream without its Dispose (the writer flushes and fsyncs it itself).</summary>
    private sealed class NonClosing(Stream inner) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
