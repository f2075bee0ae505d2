using Microsoft.Extensions.Configuration;
using Vectorizer.Engine.Collections;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Configuration;

/// <summary>
/// Everything <c>config.yml</c> configures: one property per section, one options class per section (its keys are
/// the property names, or <see cref="ConfigurationKeyNameAttribute"/> where a key has several words), one validator per
/// section in <see cref="ConfigSections"/>. <see cref="ConfigLoader"/> binds it from defaults, then the file, then
/// <c>VECTORIZER_*</c> environment variables, then command-line flags. A new section: a class here, a property
/// below, a line in <see cref="ConfigSections.All"/>.
/// </summary>
public sealed class VectorizerSettings
{
    public ServerSection Server { get; set; } = new();

    public LoggingSection Logging { get; set; } = new();

    public CollectionsSection Collections { get; set; } = new();

    [ConfigurationKeyName("auto_save")]
    public AutoSaveSection AutoSave { get; set; } = new();

    public LimitsSection Limits { get; set; } = new();

    /// <summary>Embedders for collections created by <c>POST /collections/{c}/documents</c>; off unless a provider is set.</summary>
    public EmbeddingSection Embedding { get; set; } = new();

    /// <summary>The query cache (answers of reads, invalidated by writes; optional Redis level).</summary>
    public CacheSection Cache { get; set; } = new();

    /// <summary>An OpenAI-compatible chat endpoint for HyDE query expansion; off unless <c>base_url</c> is set.</summary>
    public LlmSection Llm { get; set; } = new();

    /// <summary>Keeps collections in step with directories: watched, debounced, indexed by the file indexer.</summary>
    [ConfigurationKeyName("file_watcher")]
    public FileWatcherSection FileWatcher { get; set; } = new();

    /// <summary>API keys and JWTs (see <see cref="Security.Authenticator"/>).</summary>
    public AuthSection Auth { get; set; } = new();

    [ConfigurationKeyName("rate_limit")]
    public RateLimitSection RateLimit { get; set; } = new();

    /// <summary>Where requests may name files (<see cref="Security.AllowedPaths"/>).</summary>
    public SecuritySection Security { get; set; } = new();

    /// <summary>Canary rollouts and A/B tests behind aliases (<see cref="Rollouts.RolloutService"/>).</summary>
    public Rollouts.RolloutsSection Rollouts { get; set; } = new();

    /// <summary>Prometheus metrics at <c>GET /metrics</c>.</summary>
    public MetricsSection Metrics { get; set; } = new();

    /// <summary>OpenTelemetry traces exported by OTLP (off by default).</summary>
    public TelemetrySection Telemetry { get; set; } = new();

    /// <summary>Backups, Qdrant snapshots and the backup schedule (<see cref="Backups.BackupSection"/>).</summary>
    public Backups.BackupSection Backup { get; set; } = new();

    /// <summary>Master/replica replication (<see cref="Replication.ReplicationSection"/>).</summary>
    public Replication.ReplicationSection Replication { get; set; } = new();

    /// <summary>This node's identity in a replication group (<see cref="Replication.ClusterSection"/>).</summary>
    public Replication.ClusterSection Cluster { get; set; } = new();

    /// <summary>The engine's view of these settings.</summary>
    public EngineOptions ToEngineOptions() => new()
    {
        DataDir = Server.DataDir,
        AutoSave = new AutoSaveOptions { Enabled = AutoSave.Enabled, IntervalSeconds = AutoSave.IntervalSeconds, MinOperations = AutoSave.MinOperations },
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

    /// <summary>Qdrant's gRPC API (HTTP/2 without TLS), on the same host; 0 picks a free one (tests).</summary>
    [ConfigurationKeyName("grpc_port")]
    public int GrpcPort { get; set; } = 6334;

    /// <summary>Whether the gRPC port is opened at all.</summary>
    [ConfigurationKeyName("grpc_enabled")]
    public bool GrpcEnabled { get; set; } = true;

    [ConfigurationKeyName("data_dir")]
    public string DataDir { get; set; } = "./data";

    /// <summary>HTTPS (only) with these PEM files.</summary>
    public TlsSection Tls { get; set; } = new();

    /// <summary>After shutdown begins, keep serving this long with <c>/readyz</c> at 503 before closing the listener.</summary>
    [ConfigurationKeyName("shutdown_delay_seconds")]
    public int ShutdownDelaySeconds { get; set; }
}

public sealed class LoggingSection
{
    /// <summary>trace, debug, info, warn or error.</summary>
    public string Level { get; set; } = "info";

    /// <summary>text or json.</summary>
    public string Format { get; set; } = "text";

    /// <summary>One access-log line per HTTP request (method, path, status, duration, bytes, request id).</summary>
    [ConfigurationKeyName("log_requests")]
    public bool LogRequests { get; set; }

    /// <summary>
    /// Adds the response to the access-log line (implies one line per request): the first
    /// <see cref="Http.AccessLog.LoggedBodyBytes"/> bytes of a JSON or text body. Bodies can hold payloads: for debugging.
    /// </summary>
    [ConfigurationKeyName("log_responses")]
    public bool LogResponses { get; set; }
}

public sealed class CollectionsSection
{
    public CollectionDefaults Defaults { get; set; } = new();

    /// <summary>
    /// The product documents' spelling of <c>defaults</c>; the loader moves it to <see cref="Defaults"/> (giving both is
    /// an error), so it is null after loading.
    /// </summary>
    [ConfigurationKeyName("default")]
    public CollectionDefaults? Default { get; set; }
}

public sealed class CollectionDefaults
{
    [ConfigurationKeyName("hnsw_config")]
    public HnswDefaultsSection HnswConfig { get; set; } = new();
}

/// <summary><c>collections.defaults.hnsw_config</c>; its defaults are the engine's (<see cref="HnswDefaults"/>).</summary>
public sealed class HnswDefaultsSection
{
    public int M { get; set; } = HnswDefaults.DefaultM;

    [ConfigurationKeyName("ef_construction")]
    public int EfConstruction { get; set; } = HnswDefaults.DefaultEfConstruction;

    [ConfigurationKeyName("ef_search")]
    public int EfSearch { get; set; } = HnswDefaults.DefaultEfSearch;
}

/// <summary>Checkpointing: how much WAL a restart may have to replay (the engine's <see cref="AutoSaveOptions"/>).</summary>
public sealed class AutoSaveSection
{
    public bool Enabled { get; set; } = true;

    /// <summary>Checkpoint a changed collection at least this often.</summary>
    [ConfigurationKeyName("interval_seconds")]
    public int IntervalSeconds { get; set; } = 300;

    /// <summary>Checkpoint sooner once this many operations accumulated since the last checkpoint.</summary>
    [ConfigurationKeyName("min_operations")]
    public int MinOperations { get; set; } = 1000;
}

public sealed class LimitsSection
{
    /// <summary>Largest accepted request body, in MiB.</summary>
    [ConfigurationKeyName("max_request_mb")]
    public int MaxRequestMb { get; set; } = 32;

    /// <summary>Largest accepted vector dimension.</summary>
    [ConfigurationKeyName("max_vector_size")]
    public int MaxVectorSize { get; set; } = 65536;

    /// <summary>Most points accepted in one upsert or vector update.</summary>
    [ConfigurationKeyName("max_batch")]
    public int MaxBatch { get; set; } = 10000;

    /// <summary>Requests served at once (0: no limit); the rest wait in a queue of <see cref="QueueLimit"/>, then get 503.</summary>
    [ConfigurationKeyName("max_concurrent_requests")]
    public int MaxConcurrentRequests { get; set; }

    /// <summary>Requests that may wait for a slot when <see cref="MaxConcurrentRequests"/> are running.</summary>
    [ConfigurationKeyName("queue_limit")]
    public int QueueLimit { get; set; } = 64;
}

/// <summary>
/// The <c>embedding:</c> section: the same fields as a collection's <c>embedding</c> section. When a provider is
/// set, <c>POST /collections/{c}/documents</c> on a collection that does not exist creates it with these
/// embedders; collections created with their own <c>embedding</c> section keep theirs. Besides: the process's
/// ONNX Runtime threads for <c>local</c> models and the cost cap.
/// </summary>
public sealed class EmbeddingSection
{
    public DenseEmbeddingSection Dense { get; set; } = new();

    public SparseEmbeddingSection Sparse { get; set; } = new();

    /// <summary><c>local</c> models: ONNX Runtime's intra-op threads (0: one per physical core).</summary>
    public int Threads { get; set; }

    /// <summary>
    /// Most money embedding may cost (by the providers' <c>cost_per_1k_tokens</c>): per run of <c>vectorizer index</c>,
    /// per UTC day for the server. 0: no limit.
    /// </summary>
    [ConfigurationKeyName("max_cost")]
    public double MaxCost { get; set; }

    public bool IsEnabled() => Dense.Provider.Length > 0 || Sparse.Provider.Length > 0;

    /// <summary>The section as a collection <c>embedding</c> section, validated; null when no provider is set.</summary>
    public Ingestion.Embeddings.EmbeddingConfig? ToEmbeddingConfig()
    {
        if (!IsEnabled())
        {
            return null;
        }

        var section = new System.Text.Json.Nodes.JsonObject();
        if (Dense.Provider.Length > 0)
        {
            var dense = new System.Text.Json.Nodes.JsonObject { ["provider"] = Dense.Provider, ["vector"] = Dense.Vector };
            if (Dense.Provider == "hash")
            {
                dense["dimension"] = Dense.Dimension;
            }
            else if (Dense.Provider == "local")
            {
                if (Dense.ModelPath.Length > 0 || Dense.VocabPath.Length > 0)
                {
                    dense["model_path"] = Dense.ModelPath.Length > 0 ? Dense.ModelPath : null;
                    dense["vocab_path"] = Dense.VocabPath.Length > 0 ? Dense.VocabPath : null;
                    dense["dimension"] = Dense.Dimension;
                }

                dense["max_tokens"] = Dense.MaxTokens;
                dense["pooling"] = Dense.Pooling;
                dense["normalize"] = Dense.Normalize;
                dense["lowercase"] = Dense.Lowercase;
                dense["batch_size"] = Dense.BatchSize > 0 ? Dense.BatchSize : null;
            }
            else
            {
                dense["base_url"] = Dense.BaseUrl;
                dense["model"] = Dense.Model;
                dense["api_key_env"] = Dense.ApiKeyEnv.Length > 0 ? Dense.ApiKeyEnv : null;
                dense["dimensions"] = Dense.Dimensions > 0 ? Dense.Dimensions : null;
                dense["batch_size"] = Dense.BatchSize > 0 ? Dense.BatchSize : null;
                dense["timeout_seconds"] = Dense.TimeoutSeconds;
                dense["max_retries"] = Dense.MaxRetries;
                dense["cost_per_1k_tokens"] = Dense.CostPer1kTokens;
            }

            section["dense"] = dense;
        }

        if (Sparse.Provider.Length > 0)
        {
            section["sparse"] = new System.Text.Json.Nodes.JsonObject { ["provider"] = Sparse.Provider, ["vector"] = Sparse.Vector, ["k1"] = Sparse.K1, ["b"] = Sparse.B };
        }

        return Ingestion.Embeddings.EmbeddingConfig.Parse(System.Text.Json.JsonSerializer.SerializeToElement(section));
    }
}

public sealed class DenseEmbeddingSection
{
    /// <summary><c>local</c>, <c>hash</c>, <c>openai</c>, or empty for none.</summary>
    public string Provider { get; set; } = "";

    public string Vector { get; set; } = Ingestion.Embeddings.DenseEmbedderConfig.DefaultVector;

    /// <summary>hash: the vector size; local with <c>model_path</c>: the model's vector size.</summary>
    public int Dimension { get; set; } = Ingestion.Embeddings.HashEmbeddingGenerator.DefaultDimension;

    /// <summary>local: an ONNX sentence-embedding model (absolute path); empty for the built-in all-MiniLM-L6-v2.</summary>
    [ConfigurationKeyName("model_path")]
    public string ModelPath { get; set; } = "";

    /// <summary>local: the model's WordPiece <c>vocab.txt</c> (absolute path).</summary>
    [ConfigurationKeyName("vocab_path")]
    public string VocabPath { get; set; } = "";

    /// <summary>local: texts are cut to this many tokens.</summary>
    [ConfigurationKeyName("max_tokens")]
    public int MaxTokens { get; set; } = Ingestion.Embeddings.Local.LocalModels.BuiltinMaxTokens;

    /// <summary>local: <c>mean</c> or <c>cls</c>.</summary>
    public string Pooling { get; set; } = "mean";

    /// <summary>local: L2-normalise the vectors.</summary>
    public bool Normalize { get; set; } = true;

    /// <summary>local: lowercase before tokenizing (uncased models).</summary>
    public bool Lowercase { get; set; } = true;

    /// <summary>openai: <c>{base_url}/embeddings</c> is called.</summary>
    [ConfigurationKeyName("base_url")]
    public string BaseUrl { get; set; } = "";

    public string Model { get; set; } = "";

    /// <summary>openai: the environment variable that holds the API key.</summary>
    [ConfigurationKeyName("api_key_env")]
    public string ApiKeyEnv { get; set; } = "";

    /// <summary>openai: sent as <c>dimensions</c> and used as the vector size; 0 leaves it to the model (then the size must be declared).</summary>
    public int Dimensions { get; set; }

    /// <summary>Texts per request (openai, default 64) or per forward pass (local, default 32); 0: the provider's default.</summary>
    [ConfigurationKeyName("batch_size")]
    public int BatchSize { get; set; }

    [ConfigurationKeyName("timeout_seconds")]
    public int TimeoutSeconds { get; set; } = Ingestion.Embeddings.DenseEmbedderConfig.DefaultTimeoutSeconds;

    [ConfigurationKeyName("max_retries")]
    public int MaxRetries { get; set; } = Ingestion.Embeddings.DenseEmbedderConfig.DefaultMaxRetries;

    [ConfigurationKeyName("cost_per_1k_tokens")]
    public double CostPer1kTokens { get; set; }
}

public sealed class SparseEmbeddingSection
{
    /// <summary><c>bm25</c>, or empty for none.</summary>
    public string Provider { get; set; } = "";

    public string Vector { get; set; } = Ingestion.Embeddings.SparseEmbedderConfig.DefaultVector;

    public double K1 { get; set; } = Ingestion.Embeddings.Bm25SparseEmbedder.DefaultK1;

    public double B { get; set; } = Ingestion.Embeddings.Bm25SparseEmbedder.DefaultB;
}

public static class VectorizerSettingsExtensions
{
    /// <summary>The ingestion service's process-wide settings.</summary>
    public static Ingestion.IngestionOptions ToIngestionOptions(this VectorizerSettings settings) => new() { LocalThreads = settings.Embedding.Threads };

    public static long MaxRequestBytes(this VectorizerSettings settings) => (long)settings.Limits.MaxRequestMb << 20;
}

/// <summary>
/// The <c>file_watcher:</c> section. Lists given in the file replace the defaults (so <c>exclude_patterns: []</c>
/// excludes nothing); <c>collection_mapping</c> keeps the file's order. Relative watch paths are relative to the working directory, like <c>server.data_dir</c>.
/// </summary>
public sealed class FileWatcherSection
{
    public bool Enabled { get; set; }

    /// <summary>Directories watched recursively.</summary>
    [ConfigurationKeyName("watch_paths")]
    public List<string> WatchPaths { get; set; } = [];

    /// <summary>A path is indexed once no event touched it for this long.</summary>
    [ConfigurationKeyName("debounce_ms")]
    public int DebounceMs { get; set; } = Ingestion.Files.FileWatcherOptions.DefaultDebounceMs;

    /// <summary>Globs over paths relative to the watch path (<c>**</c>, <c>*</c>, <c>?</c>, <c>[..]</c>, <c>{a,b}</c>).</summary>
    [ConfigurationKeyName("exclude_patterns")]
    public List<string> ExcludePatterns { get; set; } = [.. Ingestion.Files.FileIndexerOptions.DefaultExcludePatterns];

    /// <summary>Extensions to index (<c>.md</c> or <c>md</c>); empty: every file that is not binary.</summary>
    [ConfigurationKeyName("include_extensions")]
    public List<string> IncludeExtensions { get; set; } = [];

    /// <summary>Larger files are skipped, in bytes.</summary>
    [ConfigurationKeyName("max_file_size")]
    public long MaxFileSize { get; set; } = Ingestion.Files.FileIndexerOptions.DefaultMaxFileSize;

    /// <summary>Glob → collection, in file order; the first match wins.</summary>
    [ConfigurationKeyName("collection_mapping")]
    public OrderedDictionary<string, string> CollectionMapping { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The collection of files no mapping matches.</summary>
    [ConfigurationKeyName("default_collection")]
    public string DefaultCollection { get; set; } = Ingestion.Files.FileIndexerOptions.DefaultCollectionName;

    /// <summary>Scan the watch paths at start: index what is new or changed, drop what is gone.</summary>
    [ConfigurationKeyName("auto_discovery")]
    public bool AutoDiscovery { get; set; } = true;

    /// <summary>Apply a changed <c>file_watcher</c> section of the config file without a restart.</summary>
    [ConfigurationKeyName("hot_reload")]
    public bool HotReload { get; set; } = true;

    /// <summary>
    /// The indexer's options (globs parsed, roots made absolute). Collections it creates get <paramref name="embedding"/>,
    /// or dense local + sparse BM25 when null.
    /// </summary>
    public Ingestion.Files.FileIndexerOptions ToIndexerOptions(Ingestion.Embeddings.EmbeddingConfig? embedding) => new()
    {
        Roots = [.. WatchPaths.Select(Ingestion.Files.FileIndexerOptions.NormalizeRoot)],
        Exclude = [.. ExcludePatterns.Select(Ingestion.Files.Glob.Parse)],
        IncludeExtensions = Ingestion.Files.FileIndexerOptions.ParseExtensions(IncludeExtensions),
        MaxFileSize = MaxFileSize,
        CollectionMapping = [.. CollectionMapping.Select(m => (Ingestion.Files.Glob.Parse(m.Key), m.Value))],
        DefaultCollection = DefaultCollection,
        NewCollectionEmbedding = embedding ?? Ingestion.Files.FileIndexerOptions.DefaultEmbedding,
    };

    public Ingestion.Files.FileWatcherOptions ToWatcherOptions() => new() { DebounceMs = DebounceMs, AutoDiscovery = AutoDiscovery };
}
