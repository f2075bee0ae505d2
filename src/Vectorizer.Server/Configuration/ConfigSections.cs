using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Ingestion.Files;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Configuration;

/// <summary>One section of <see cref="VectorizerSettings"/>: its key, its validator, and how the host registers it.</summary>
public interface IConfigSection
{
    string Key { get; }

    /// <summary>Problems of this section in <paramref name="settings"/>, each naming its full key.</summary>
    IEnumerable<ConfigIssue> Validate(VectorizerSettings settings);

    /// <summary>Registers the section as <c>IOptions&lt;T&gt;</c> (and its validator as <c>IValidateOptions&lt;T&gt;</c>).</summary>
    void Register(IServiceCollection services, VectorizerSettings settings);
}

/// <summary>A section of type <typeparamref name="T"/>, read from <c>settings</c> by <paramref name="get"/>.</summary>
public sealed class ConfigSection<T>(string key, Func<VectorizerSettings, T> get, SectionValidator<T> validator) : IConfigSection
    where T : class
{
    public string Key => key;

    public IEnumerable<ConfigIssue> Validate(VectorizerSettings settings) =>
        validator.Check(get(settings)).Select(problem => new ConfigIssue(ConfigLoader.ChildPath(key, problem.Key), problem.Message));

    public void Register(IServiceCollection services, VectorizerSettings settings)
    {
        services.AddSingleton(Options.Create(get(settings)));
        services.AddSingleton<IValidateOptions<T>>(validator);
    }
}

/// <summary>
/// Checks one section; <see cref="Check"/> names each bad key relative to the section (<c>port</c>,
/// <c>watch_paths[0]</c>). As an <see cref="IValidateOptions{TOptions}"/> the failures read <c>key: message</c>.
/// </summary>
public abstract class SectionValidator<T> : IValidateOptions<T>
    where T : class
{
    public abstract IEnumerable<(string Key, string Message)> Check(T options);

    public ValidateOptionsResult Validate(string? name, T options)
    {
        var failures = Check(options).Select(f => $"{f.Key}: {f.Message}").ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Every section, in the order <c>config show</c> prints them.</summary>
public static class ConfigSections
{
    public static readonly IReadOnlyList<IConfigSection> All =
    [
        new ConfigSection<ServerSection>("server", s => s.Server, new ServerValidator()),
        new ConfigSection<LoggingSection>("logging", s => s.Logging, new LoggingValidator()),
        new ConfigSection<CollectionsSection>("collections", s => s.Collections, new CollectionsValidator()),
        new ConfigSection<AutoSaveSection>("auto_save", s => s.AutoSave, new AutoSaveValidator()),
        new ConfigSection<LimitsSection>("limits", s => s.Limits, new LimitsValidator()),
        new ConfigSection<EmbeddingSection>("embedding", s => s.Embedding, new EmbeddingValidator()),
        new ConfigSection<FileWatcherSection>("file_watcher", s => s.FileWatcher, new FileWatcherValidator()),
        new ConfigSection<CacheSection>("cache", s => s.Cache, new CacheValidator()),
        new ConfigSection<LlmSection>("llm", s => s.Llm, new LlmValidator()),
        new ConfigSection<AuthSection>("auth", s => s.Auth, new AuthValidator()),
        new ConfigSection<RateLimitSection>("rate_limit", s => s.RateLimit, new RateLimitValidator()),
        new ConfigSection<SecuritySection>("security", s => s.Security, new SecurityValidator()),
        new ConfigSection<Rollouts.RolloutsSection>("rollouts", s => s.Rollouts, new Rollouts.RolloutsValidator()),
        new ConfigSection<MetricsSection>("metrics", s => s.Metrics, new MetricsValidator()),
        new ConfigSection<TelemetrySection>("telemetry", s => s.Telemetry, new TelemetryValidator()),
        new ConfigSection<Backups.BackupSection>("backup", s => s.Backup, new Backups.BackupValidator()),
        new ConfigSection<Replication.ReplicationSection>("replication", s => s.Replication, new Replication.ReplicationValidator()),
        new ConfigSection<Replication.ClusterSection>("cluster", s => s.Cluster, new Replication.ClusterValidator()),
    ];

    /// <summary>
    /// Sections the product documents describe that this version does not implement yet: accepted with a warning (at
    /// every start and by <c>config validate</c>) and ignored, until the issue that implements each one enforces it.
    /// </summary>
    public static readonly IReadOnlySet<string> NotYetImplemented = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "performance", "monitoring",
        "mcp", "api", "storage", "compression", "quantization",
    };

    /// <summary>Problems of every section.</summary>
    public static IEnumerable<ConfigIssue> Validate(VectorizerSettings settings) =>
        All.SelectMany(section => section.Validate(settings)).Concat(Replication.Leadership.AutoRoleRule.Check(settings))
            .Concat(Replication.ReplicationAuth.Check(settings)).Concat(Replication.GrpcAdvertisement.Check(settings));
}

public sealed class ServerValidator : SectionValidator<ServerSection>
{
    public override IEnumerable<(string Key, string Message)> Check(ServerSection s)
    {
        if (string.IsNullOrWhiteSpace(s.Host))
        {
            yield return ("host", "must not be empty");
        }

        if (s.Port is < 0 or > 65535)
        {
            yield return ("port", $"{s.Port} is not a TCP port (0-65535)");
        }

        if (s.GrpcPort is < 0 or > 65535)
        {
            yield return ("grpc_port", $"{s.GrpcPort} is not a TCP port (0-65535)");
        }
        else if (s.GrpcEnabled && s.GrpcPort != 0 && s.GrpcPort == s.Port)
        {
            yield return ("grpc_port", $"{s.GrpcPort} is also the REST port; give gRPC its own port (or grpc_enabled: false)");
        }

        if (string.IsNullOrWhiteSpace(s.DataDir))
        {
            yield return ("data_dir", "must not be empty");
        }

        if (s.ShutdownDelaySeconds is < 0 or > 300)
        {
            yield return ("shutdown_delay_seconds", $"{s.ShutdownDelaySeconds} is outside 0-300");
        }

        foreach (var (key, message) in new TlsValidator().Check(s.Tls))
        {
            yield return ("tls." + key, message);
        }
    }
}

public sealed class LoggingValidator : SectionValidator<LoggingSection>
{
    public override IEnumerable<(string Key, string Message)> Check(LoggingSection s)
    {
        if (s.Level is not ("trace" or "debug" or "info" or "warn" or "error"))
        {
            yield return ("level", $"`{s.Level}` is not one of trace, debug, info, warn, error");
        }

        if (s.Format is not ("text" or "json"))
        {
            yield return ("format", $"`{s.Format}` is not one of text, json");
        }
    }
}

public sealed class CollectionsValidator : SectionValidator<CollectionsSection>
{
    public override IEnumerable<(string Key, string Message)> Check(CollectionsSection s)
    {
        var hnsw = s.Defaults.HnswConfig;
        if (hnsw.M is < 0 or > 512)
        {
            yield return ("defaults.hnsw_config.m", $"{hnsw.M} is outside 0-512");
        }

        if (hnsw.EfConstruction < 4)
        {
            yield return ("defaults.hnsw_config.ef_construction", "must be at least 4");
        }

        if (hnsw.EfSearch < 1)
        {
            yield return ("defaults.hnsw_config.ef_search", "must be at least 1");
        }
    }
}

public sealed class AutoSaveValidator : SectionValidator<AutoSaveSection>
{
    public override IEnumerable<(string Key, string Message)> Check(AutoSaveSection s)
    {
        if (s.IntervalSeconds < 1)
        {
            yield return ("interval_seconds", "must be at least 1");
        }

        if (s.MinOperations < 1)
        {
            yield return ("min_operations", "must be at least 1");
        }
    }
}

public sealed class LimitsValidator : SectionValidator<LimitsSection>
{
    public override IEnumerable<(string Key, string Message)> Check(LimitsSection s)
    {
        if (s.MaxRequestMb is < 1 or > 4096)
        {
            yield return ("max_request_mb", "must be between 1 and 4096");
        }

        if (s.MaxVectorSize is < 1 or > 65536)
        {
            yield return ("max_vector_size", "must be between 1 and 65536");
        }

        if (s.MaxBatch < 1)
        {
            yield return ("max_batch", "must be at least 1");
        }

        if (s.MaxConcurrentRequests < 0)
        {
            yield return ("max_concurrent_requests", "must be 0 (no limit) or more");
        }

        if (s.QueueLimit < 0)
        {
            yield return ("queue_limit", "must be 0 or more");
        }
    }
}

/// <summary>An unknown provider or a bad value in <c>embedding:</c> stops the server at startup, naming the key.</summary>
public sealed class EmbeddingValidator : SectionValidator<EmbeddingSection>
{
    public override IEnumerable<(string Key, string Message)> Check(EmbeddingSection s)
    {
        string? problem = null;
        try
        {
            s.ToEmbeddingConfig();
        }
        catch (VectorizerException e)
        {
            problem = e.Message;
        }

        if (s.Threads is < 0 or > 1024)
        {
            yield return ("threads", $"{s.Threads} is not a thread count (0 for one per core, up to 1024)");
        }

        if (s.MaxCost < 0 || !double.IsFinite(s.MaxCost))
        {
            yield return ("max_cost", $"{s.MaxCost} is not an amount (0 for no limit)");
        }

        if (problem is null)
        {
            yield break;
        }

        // The messages start with the field's path ("embedding.dense.provider: ...").
        var colon = problem.IndexOf(": ", StringComparison.Ordinal);
        yield return colon > 0 && problem.StartsWith("embedding.", StringComparison.Ordinal)
            ? (problem["embedding.".Length..colon], problem[(colon + 2)..])
            : ("", problem);
    }
}

/// <summary>Problems of the <c>file_watcher:</c> section (also checked when the section is hot-reloaded).</summary>
public sealed class FileWatcherValidator : SectionValidator<FileWatcherSection>
{
    public override IEnumerable<(string Key, string Message)> Check(FileWatcherSection section)
    {
        if (section.Enabled && section.WatchPaths.Count == 0)
        {
            yield return ("watch_paths", "list at least one directory to watch when `enabled` is true");
        }

        for (var i = 0; i < section.WatchPaths.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(section.WatchPaths[i]))
            {
                yield return ($"watch_paths[{i}]", "must not be empty");
            }
        }

        if (section.DebounceMs is < 0 or > 60_000)
        {
            yield return ("debounce_ms", $"{section.DebounceMs} is outside 0-60000");
        }

        if (section.MaxFileSize < 1)
        {
            yield return ("max_file_size", "must be at least 1 byte");
        }

        for (var i = 0; i < section.ExcludePatterns.Count; i++)
        {
            if (Problem(() => Glob.Parse(section.ExcludePatterns[i])) is { } problem)
            {
                yield return ($"exclude_patterns[{i}]", problem);
            }
        }

        for (var i = 0; i < section.IncludeExtensions.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(section.IncludeExtensions[i].Replace(",", "", StringComparison.Ordinal).Trim('.')))
            {
                yield return ($"include_extensions[{i}]", "must be an extension such as `.md`");
            }
        }

        foreach (var (pattern, collection) in section.CollectionMapping)
        {
            if (Problem(() => Glob.Parse(pattern)) is { } problem)
            {
                yield return ($"collection_mapping.{pattern}", problem);
            }

            if (Problem(() => CollectionNames.Validate(collection)) is { } name)
            {
                yield return ($"collection_mapping.{pattern}", name);
            }
        }

        if (Problem(() => CollectionNames.Validate(section.DefaultCollection)) is { } defaultName)
        {
            yield return ("default_collection", defaultName);
        }
    }

    private static string? Problem(Action check)
    {
        try
        {
            check();
            return null;
        }
        catch (VectorizerException e)
        {
            return e.Message;
        }
    }
}
