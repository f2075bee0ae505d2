using Vectorizer.Engine.Collections;

namespace Vectorizer.Server.Configuration;

/// <summary>
/// Everything <c>config.yml</c> configures. YAML keys are the snake_case form of the property names
/// (<c>DataDir</c> ↔ <c>data_dir</c>). Precedence: defaults, then the file, then <c>VECTORIZER_*</c>
/// environment variables, then command-line flags.
/// </summary>
public sealed class VectorizerSettings
{
    public ServerSection Server { get; set; } = new();

    public LoggingSection Logging { get; set; } = new();

    public CollectionsSection Collections { get; set; } = new();

    public AutoSaveOptions AutoSave { get; set; } = new();

    public LimitsSection Limits { get; set; } = new();

    /// <summary>The engine's view of these settings.</summary>
    public EngineOptions ToEngineOptions() => new()
    {
        DataDir = Server.DataDir,
        AutoSave = AutoSave,
        HnswDefaults = new HnswDefaults
        {
            M = Collections.Defaults.HnswConfig.M,
            EfConstruction = Collections.Defaults.HnswConfig.EfConstruction,
            EfSearch = Collections.Defaults.HnswConfig.EfSearch,
        },
        MaxVectorSize = Limits.MaxVectorSize,
    };
}

public sealed class ServerSection
{
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (tests).</summary>
    public int Port { get; set; } = 15002;

    public string DataDir { get; set; } = "./data";
}

public sealed class LoggingSection
{
    /// <summary>trace, debug, info, warn or error.</summary>
    public string Level { get; set; } = "info";

    /// <summary>text or json.</summary>
    public string Format { get; set; } = "text";

    /// <summary>Log one line per HTTP request.</summary>
    public bool LogRequests { get; set; }

    public bool LogResponses { get; set; }
}

public sealed class CollectionsSection
{
    public CollectionDefaults Defaults { get; set; } = new();
}

public sealed class CollectionDefaults
{
    public HnswDefaultsSection HnswConfig { get; set; } = new();
}

public sealed class HnswDefaultsSection
{
    public int M { get; set; } = 16;

    public int EfConstruction { get; set; } = 100;

    public int EfSearch { get; set; } = 256;
}

public sealed class LimitsSection
{
    /// <summary>Largest accepted request body, in MiB.</summary>
    public int MaxRequestMb { get; set; } = 32;

    /// <summary>Largest accepted vector dimension.</summary>
    public int MaxVectorSize { get; set; } = 65536;

    /// <summary>Most points accepted in one upsert or vector update.</summary>
    public int MaxBatch { get; set; } = 10000;
}

public static class VectorizerSettingsExtensions
{
    public static long MaxRequestBytes(this VectorizerSettings settings) => (long)settings.Limits.MaxRequestMb << 20;
}
