using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Vectorizer.Ingestion.Files;

namespace Vectorizer.Cli;

/// <summary>The server refused or failed a request of a remote run (the message is the server's, or why it could not be reached).</summary>
internal sealed class RemoteIndexException(string message) : Exception(message);

/// <summary>
/// <c>vectorizer index PATH --url URL</c>: a full indexing run whose work is done by a running server. This side walks
/// the root with the same rules as a local run (<see cref="FileSelector"/>: excludes, extensions, size, binary and
/// symlink checks), reads and hashes each file and sends batches to <c>POST /collections/{c}/files</c>: first the
/// hashes only (the server answers which files it already holds in that version: hash-skip costs no upload), then the
/// texts of the changed ones, which the server chunks and embeds with the collection's embedders. Progress, checkpoint
/// (in the user's state directory, keyed by server, collection and root; with the run's tokens and cost), resume,
/// <c>max_cost</c> and the final removal of vanished files (<c>/files/prune</c>) work as in a local run.
/// </summary>
internal sealed class RemoteIndexRun(HttpClient http, string collection, FileSelector selector, string root, string checkpointPath)
{
    /// <summary>Most text sent in one request (the server's request limit is larger; a batch of big files is split).</summary>
    private const long MaxTextBytesPerRequest = 8L << 20;

    public int CheckpointEvery { get; init; } = 100;

    public int BatchFiles { get; init; } = 32;

    public Action<IndexRunProgress>? Progress { get; init; }

    public Action<FileIndexResult>? Problem { get; init; }

    public double MaxCost { get; init; }

    /// <summary>Where the checkpoint of a run of <paramref name="collection"/> on <paramref name="url"/> over <paramref name="root"/> lives.</summary>
    public static string CheckpointPathFor(string url, string collection, string root)
    {
        var state = Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{url.TrimEnd('/')}\n{collection}\n{root}")))[..24];
        return Path.Combine(state, "vectorizer", "index-checkpoints", key + ".json");
    }

    public async Task<IndexRunProgress> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var files = selector.EnumerateFiles(root, r => Problem?.Invoke(r));
        var checkpoint = IndexCheckpoint.Load(checkpointPath, root, collection) ?? new IndexCheckpoint { Root = root, Collection = collection };
        var present = new HashSet<string>(StringComparer.Ordinal);
        var todo = new List<string>(files.Count);
        var sizes = new List<long>(files.Count);
        long totalBytes = 0, resumedBytes = 0;
        foreach (var file in files)
        {
            var relative = selector.Locate(file)!.Value.Relative;
            var size = new FileInfo(file) is { Exists: true } info ? info.Length : 0;
            totalBytes += size;
            if (checkpoint.Completed.Contains(relative))
            {
                present.Add(relative);
                resumedBytes += size;
            }
            else
            {
                todo.Add(file);
                sizes.Add(size);
            }
        }

        var progress = new IndexRunProgress
        {
            TotalFiles = files.Count,
            ResumedFiles = files.Count - todo.Count,
            DoneFiles = files.Count - todo.Count,
            TotalBytes = totalBytes,
            ResumedBytes = resumedBytes,
            DoneBytes = resumedBytes,
            Tokens = checkpoint.Tokens,
            Cost = checkpoint.Cost,
        };
        Progress?.Invoke(progress);
        var sinceCheckpoint = 0;
        try
        {
            for (var start = 0; start < todo.Count; start += BatchFiles)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var count = Math.Min(BatchFiles, todo.Count - start);
                progress = await BatchAsync(todo.GetRange(start, count), progress, present, checkpoint, cancellationToken).ConfigureAwait(false);
                progress = progress with { DoneBytes = progress.DoneBytes + sizes.GetRange(start, count).Sum(), Elapsed = clock.Elapsed };
                sinceCheckpoint += count;
                if (sinceCheckpoint >= CheckpointEvery)
                {
                    checkpoint.Save(checkpointPath);
                    sinceCheckpoint = 0;
                }

                Progress?.Invoke(progress);
            }
        }
        catch (CostLimitException e)
        {
            checkpoint.Save(checkpointPath);
            progress = progress with { Elapsed = clock.Elapsed, StoppedByCost = e.Message };
            Progress?.Invoke(progress);
            return progress;
        }
        catch (Exception e) when (e is OperationCanceledException or RemoteIndexException or HttpRequestException)
        {
            checkpoint.Save(checkpointPath);
            throw;
        }

        var removed = await PostAsync("/files/prune", w =>
        {
            w.WriteString("root", root);
            w.WriteStartArray("present");
            foreach (var path in present.Order(StringComparer.Ordinal))
            {
                w.WriteStringValue(path);
            }

            w.WriteEndArray();
        }, cancellationToken).ConfigureAwait(false);
        if (File.Exists(checkpointPath))
        {
            File.Delete(checkpointPath);
        }

        progress = progress with { Removed = removed.GetProperty("removed").GetInt32(), Elapsed = clock.Elapsed };
        Progress?.Invoke(progress);
        return progress;
    }

    private sealed class CostLimitException(string message) : Exception(message);

    /// <summary>One batch: hashes first, then the texts of what changed.</summary>
    private async Task<IndexRunProgress> BatchAsync(List<string> paths, IndexRunProgress progress, HashSet<string> present, IndexCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        var read = new List<EligibleFile>();
        foreach (var path in paths)
        {
            var (result, file) = selector.Inspect(path);
            if (file is not null)
            {
                read.Add(file);
                continue;
            }

            if (result!.Outcome == FileOutcome.Skipped)
            {
                Problem?.Invoke(result);
                progress = progress with { Skipped = progress.Skipped + 1 };
                if (result.RelativePath is { } relative)
                {
                    checkpoint.Completed.Add(relative);
                }
            }
        }

        var outcomes = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (read.Count > 0)
        {
            var first = await SendAsync(read, withText: false, checkpoint, cancellationToken).ConfigureAwait(false);
            var changed = read.Where(f => first[f.Relative].GetProperty("outcome").GetString() == "changed").ToList();
            foreach (var file in read)
            {
                outcomes[file.Relative] = first[file.Relative];
            }

            // The changed files' texts, in requests of at most MaxTextBytesPerRequest.
            for (var at = 0; at < changed.Count;)
            {
                var group = new List<EligibleFile>();
                long bytes = 0;
                while (at < changed.Count && (group.Count == 0 || bytes + changed[at].Text.Length <= MaxTextBytesPerRequest))
                {
                    bytes += changed[at].Text.Length;
                    group.Add(changed[at++]);
                }

                var second = await SendAsync(group, withText: true, checkpoint, cancellationToken).ConfigureAwait(false);
                foreach (var file in group)
                {
                    outcomes[file.Relative] = second[file.Relative];
                }
            }
        }

        int indexed = 0, unchanged = 0, skipped = 0, failed = 0;
        long chunks = 0;
        foreach (var file in read)
        {
            var outcome = outcomes[file.Relative];
            var reason = outcome.TryGetProperty("reason", out var r) ? r.GetString() : null;
            switch (outcome.GetProperty("outcome").GetString())
            {
                case "indexed":
                    indexed++;
                    chunks += outcome.GetProperty("chunks").GetInt32();
                    break;
                case "unchanged":
                    unchanged++;
                    break;
                case "skipped":
                    skipped++;
                    Problem?.Invoke(new FileIndexResult(file.FullPath, FileOutcome.Skipped, file.Relative, collection, Reason: reason));
                    break;
                default:
                    failed++;
                    Problem?.Invoke(new FileIndexResult(file.FullPath, FileOutcome.Failed, file.Relative, collection, Reason: reason ?? "the server did not index it"));
                    break;
            }

            present.Add(file.Relative);
            if (outcome.GetProperty("outcome").GetString() is "indexed" or "unchanged" or "skipped")
            {
                checkpoint.Completed.Add(file.Relative);
            }
        }

        return progress with
        {
            DoneFiles = progress.DoneFiles + paths.Count,
            Indexed = progress.Indexed + indexed,
            Unchanged = progress.Unchanged + unchanged,
            Skipped = progress.Skipped + skipped,
            Failed = progress.Failed + failed,
            Chunks = progress.Chunks + chunks,
            Tokens = checkpoint.Tokens,
            Cost = checkpoint.Cost,
        };
    }

    /// <summary>Sends files (with or without their texts); the outcome of each by relative path. What it cost goes into the checkpoint.</summary>
    private async Task<Dictionary<string, JsonElement>> SendAsync(
        List<EligibleFile> files, bool withText, IndexCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        var result = await PostAsync("/files", w =>
        {
            w.WriteString("root", root);
            if (MaxCost > 0)
            {
                w.WriteNumber("max_cost", MaxCost);
                w.WriteNumber("spent_cost", checkpoint.Cost);
            }

            w.WriteStartArray("files");
            foreach (var file in files)
            {
                w.WriteStartObject();
                w.WriteString("path", file.Relative);
                w.WriteString("hash", file.Hash);
                w.WriteString("modified", file.Mtime.ToString("O", CultureInfo.InvariantCulture));
                if (withText)
                {
                    w.WriteString("text", file.Text);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        }, cancellationToken).ConfigureAwait(false);
        var outcomes = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var outcome in result.GetProperty("files").EnumerateArray())
        {
            outcomes[outcome.GetProperty("path").GetString()!] = outcome.Clone();
        }

        checkpoint.Tokens += result.GetProperty("tokens").GetInt64();
        checkpoint.Cost += result.GetProperty("cost").GetDouble();
        return outcomes;
    }

    private async Task<JsonElement> PostAsync(string path, Action<Utf8JsonWriter> body, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        using var content = new ByteArrayContent(buffer.GetBuffer(), 0, (int)buffer.Length);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync($"collections/{Uri.EscapeDataString(collection)}{path}", content, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        JsonElement? json = null;
        try
        {
            json = JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException)
        {
        }

        if (response.IsSuccessStatusCode && json?.TryGetProperty("result", out var ok) == true)
        {
            return ok;
        }

        var message = json?.TryGetProperty("status", out var status) == true && status.ValueKind == JsonValueKind.Object && status.TryGetProperty("error", out var error)
            ? error.GetString()
            : text.Length > 300 ? text[..300] : text;
        if (response.StatusCode == HttpStatusCode.TooManyRequests && message?.StartsWith("Embedding cost limit: ", StringComparison.Ordinal) == true)
        {
            throw new CostLimitException(message["Embedding cost limit: ".Length..]);
        }

        throw new RemoteIndexException(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
            ? $"the server refused the request ({(int)response.StatusCode}: {message}): set VECTORIZER_API_KEY (or auth.api_key in the configuration) to a key that may write"
            : $"the server answered {(int)response.StatusCode}: {message}");
    }
}
