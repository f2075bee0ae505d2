using System.Text.Json;
using System.Text.Json.Serialization;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Server.Replication;

/// <summary>
/// What a node remembers across restarts (<c>data_dir/replication/state.json</c>, written atomically and fsynced):
/// its epoch, and the position (with that record's epoch) it holds everything up to. A replica writes it after the
/// records it acknowledges are durable in its WALs, so a restart continues with a partial resync.
/// </summary>
public sealed record NodeState(
    [property: JsonPropertyName("format")] int Format,
    [property: JsonPropertyName("epoch")] long Epoch,
    [property: JsonPropertyName("position")] long Position,
    [property: JsonPropertyName("position_epoch")] long PositionEpoch,
    [property: JsonPropertyName("role")] string Role)
{
    public const int CurrentFormat = 1;

    public static string PathIn(string dataDir) => System.IO.Path.Combine(dataDir, "replication", "state.json");

    public static NodeState? Read(string dataDir)
    {
        var path = PathIn(dataDir);
        if (!File.Exists(path))
        {
            return null;
        }

        var state = JsonSerializer.Deserialize<NodeState>(File.ReadAllBytes(path))
            ?? throw new InvalidDataException($"{path} is empty");
        return state.Format == CurrentFormat
            ? state
            : throw new InvalidDataException($"{path} has format {state.Format}; this build reads format {CurrentFormat}");
    }

    public void Write(string dataDir)
    {
        var path = PathIn(dataDir);
        FileUtil.CreateDirectoryDurable(PhysicalStorage.Instance, System.IO.Path.GetDirectoryName(path)!);
        FileUtil.WriteAtomic(PhysicalStorage.Instance, path, JsonSerializer.SerializeToUtf8Bytes(this));
    }
}
