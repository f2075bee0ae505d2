using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Engine.Tests;

/// <summary>A temporary directory deleted at dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = TestPaths.NewDirectory();
    }

    public string Path { get; }

    public void Dispose() => TestPaths.TryDelete(Path);
}

/// <summary>Collects log messages so tests can assert on warnings.</summary>
public sealed class ListLogger : ILogger, ILoggerFactory
{
    public List<(LogLevel Level, string Message)> Entries { get; } = [];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Entries)
        {
            Entries.Add((logLevel, formatter(state, exception)));
        }
    }

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    public bool Has(LogLevel level, string fragment)
    {
        lock (Entries)
        {
            return Entries.Exists(e => e.Level == level && e.Message.Contains(fragment, StringComparison.Ordinal));
        }
    }
}

public static class TestData
{
    public static EngineOptions Options(string dataDir) => new()
    {
        DataDir = dataDir,
        AutoSave = new AutoSaveOptions { Enabled = true, IntervalSeconds = 3600, MinOperations = 1_000_000 },
        MaintenanceInterval = TimeSpan.FromMilliseconds(200),
    };

    public static CollectionManager Open(string dataDir, ILoggerFactory? loggers = null) =>
        CollectionManager.Open(Options(dataDir), loggers ?? NullLoggerFactory.Instance);

    public static CollectionConfig Config(int size, Distance distance = Distance.Cosine, int fullScanThreshold = 10000, int indexingThreshold = 10000) => new()
    {
        Vectors = new Dictionary<string, VectorParams> { [""] = new() { Size = size, Distance = distance } },
        Hnsw = new HnswConfig { FullScanThreshold = fullScanThreshold },
        Optimizers = new OptimizersConfig { IndexingThreshold = indexingThreshold },
    };

    public static float[] RandomVector(Random random, int size)
    {
        var v = new float[size];
        for (var i = 0; i < size; i++)
        {
            v[i] = (float)((random.NextDouble() * 2) - 1);
        }

        return v;
    }

    public static PointStruct Point(ulong id, float[] vector, string? payloadJson = null) =>
        new(PointId.FromNumber(id), new Dictionary<string, float[]> { [""] = vector }, payloadJson is null ? null : PointPayload.FromUtf8(System.Text.Encoding.UTF8.GetBytes(payloadJson)));
}
