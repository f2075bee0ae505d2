using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Tests;

public sealed class ConfigTests : IDisposable
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];
    private readonly List<string> written = [];

    public void Dispose() => written.ForEach(TestPaths.TryDelete);

    private string WriteConfig(string yaml)
    {
        var path = TestPaths.NewPath("config-", ".yml");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, yaml);
        written.Add(path);
        return path;
    }

    [Fact]
    public void DefaultsWithoutAFile()
    {
        var (settings, path, warnings) = ConfigLoader.Load(null, NoEnvironment);
        Assert.Null(path);
        Assert.Empty(warnings);
        Assert.Equal("127.0.0.1", settings.Server.Host);
        Assert.Equal(15002, settings.Server.Port);
        Assert.Equal("./data", settings.Server.DataDir);
        Assert.Equal(16, settings.Collections.Defaults.HnswConfig.M);
        Assert.True(settings.AutoSave.Enabled);
        Assert.Equal(32, settings.Limits.MaxRequestMb);
    }

    [Fact]
    public void EveryDocumentedKeyIsRead()
    {
        var path = WriteConfig("""
            server:
              host: "0.0.0.0"
              port: 16000
              data_dir: "/var/lib/vectorizer"
            logging:
              level: "warn"
              format: "json"
              log_requests: false
            collections:
              defaults:
                hnsw_config:
                  m: 32
                  ef_construction: 200
                  ef_search: 100
            auto_save:
              enabled: true
              interval_seconds: 60
              min_operations: 500
            limits:
              max_request_mb: 64
              max_vector_size: 4096
              max_batch: 2000
            """);
        var (s, _, warnings) = ConfigLoader.Load(path, NoEnvironment);
        Assert.Empty(warnings);
        Assert.Equal(("0.0.0.0", 16000, "/var/lib/vectorizer"), (s.Server.Host, s.Server.Port, s.Server.DataDir));
        Assert.Equal(("warn", "json"), (s.Logging.Level, s.Logging.Format));
        Assert.Equal((32, 200, 100), (s.Collections.Defaults.HnswConfig.M, s.Collections.Defaults.HnswConfig.EfConstruction, s.Collections.Defaults.HnswConfig.EfSearch));
        Assert.Equal((true, 60, 500), (s.AutoSave.Enabled, s.AutoSave.IntervalSeconds, s.AutoSave.MinOperations));
        Assert.Equal((64, 4096, 2000), (s.Limits.MaxRequestMb, s.Limits.MaxVectorSize, s.Limits.MaxBatch));
        var engine = s.ToEngineOptions();
        Assert.Equal(100, engine.HnswDefaults.EfSearch);
        Assert.Equal(4096, engine.MaxVectorSize);
    }

    [Fact]
    public void ProductionGuideConfigIsAcceptedWithWarningsForLaterFeatures()
    {
        var path = WriteConfig("""
            server:
              host: "0.0.0.0"
              port: 15002
              data_dir: "/var/lib/vectorizer"
            logging:
              level: "warn"
              format: "json"
              log_requests: false
              log_responses: false
            performance:
              cpu:
                max_threads: 16
            collections:
              default:
                dimension: 384
                metric: "cosine"
                hnsw_config:
                  m: 32
                  ef_construction: 200
                  ef_search: 100
            replication:
              enabled: false
            auto_save:
              enabled: true
              interval_seconds: 300
              min_operations: 1000
            """);
        var (s, _, warnings) = ConfigLoader.Load(path, NoEnvironment);
        Assert.Equal(32, s.Collections.Defaults.HnswConfig.M);
        Assert.Contains(warnings, w => w.Key == "performance");
        Assert.DoesNotContain(warnings, w => w.Key == "replication"); // implemented (issue 14)
        Assert.Contains(warnings, w => w.Key == "collections.default.dimension");
    }

    [Fact]
    public void ASectionThatSwitchesOnAMissingFeatureIsRefused()
    {
        var issues = ConfigLoader.ValidateYaml("""
            server:
              port: 15002
            monitoring:
              enabled: true
              role: master
            """);
        var refused = Assert.Single(issues, i => !i.IsWarning);
        Assert.Equal("monitoring.enabled", refused.Key);
        Assert.Equal(4, refused.Line);
        Assert.Contains("turns on a feature this version does not have", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidationNamesTheBadKeyAndLine()
    {
        var issues = ConfigLoader.ValidateYaml("""
            server:
              host: "127.0.0.1"
              prot: 15002
            auto_save:
              interval_seconds: often
            logging:
              format: xml
            """);
        Assert.Contains(issues, i => i.Key == "server.prot" && i.Line == 3 && i.Message.Contains("unknown key", StringComparison.Ordinal));
        Assert.Contains(issues, i => i.Key == "auto_save.interval_seconds" && i.Line == 5 && i.Message.Contains("whole number", StringComparison.Ordinal));
        Assert.Equal("line 3, column 3: `server.prot`: unknown key; expected one of `host`, `port`, `grpc_port`, `grpc_enabled`, `data_dir`, `tls`, `shutdown_delay_seconds`", issues.First(i => i.Key == "server.prot").ToString());
        var syntax = ConfigLoader.ValidateYaml("server:\n  port: [1, 2\n");
        Assert.Contains(syntax, i => i.Message.StartsWith("YAML syntax error", StringComparison.Ordinal) && i.Line is not null);

        // A bad value found by a section's validator points at the value in the file.
        var values = ConfigLoader.ValidateYaml("server:\n  port: 15002\nlogging:\n  format: xml\n  level: verbose\n");
        Assert.Equal(
            ["line 4, column 11: `logging.format`: `xml` is not one of text, json", "line 5, column 10: `logging.level`: `verbose` is not one of trace, debug, info, warn, error"],
            values.Select(i => i.ToString()).Order());
    }

    [Fact]
    public void EnvironmentOverridesTheFileAndFlagsOverrideBoth()
    {
        var path = WriteConfig("server:\n  port: 16000\n  data_dir: /from/file\n  host: 10.0.0.1\n");
        var environment = new Dictionary<string, string?>
        {
            ["VECTORIZER_CONFIG"] = path,
            ["VECTORIZER_PORT"] = "17000",
            ["VECTORIZER_DATA_DIR"] = "/from/env",
        };
        var (s, used, _) = ConfigLoader.Load(null, environment);
        Assert.Equal(path, used);
        Assert.Equal(("10.0.0.1", 17000, "/from/env"), (s.Server.Host, s.Server.Port, s.Server.DataDir));
        var (flags, _, _) = ConfigLoader.Load(null, environment, new Dictionary<string, string?> { ["server:port"] = "18000" });
        Assert.Equal(18000, flags.Server.Port);
        Assert.Equal("/from/env", flags.Server.DataDir);
        environment["VECTORIZER_HOST"] = "0.0.0.0";
        Assert.Equal("0.0.0.0", ConfigLoader.Load(null, environment).Settings.Server.Host);
        environment["VECTORIZER_PORT"] = "http";
        var issue = Assert.Single(Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, environment)).Issues);
        Assert.Equal("`server.port` (from VECTORIZER_PORT): expected a whole number, got `http`", issue.ToString());
        environment["VECTORIZER_PORT"] = "70000";
        issue = Assert.Single(Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, environment)).Issues);
        Assert.Equal("`server.port` (from VECTORIZER_PORT): 70000 is not a TCP port (0-65535)", issue.ToString());
        issue = Assert.Single(Assert.Throws<ConfigException>(() => ConfigLoader.Load(path, NoEnvironment, new Dictionary<string, string?> { ["logging:level"] = "loud" })).Issues);
        Assert.Equal("`logging.level` (from the command line): `loud` is not one of trace, debug, info, warn, error", issue.ToString());
    }

    [Fact]
    public void EveryKeyHasAVariableByConvention()
    {
        var environment = new Dictionary<string, string?>
        {
            ["VECTORIZER_FILE_WATCHER__DEBOUNCE_MS"] = "77",
            ["VECTORIZER_FILE_WATCHER__WATCH_PATHS__0"] = "/srv/a",
            ["vectorizer_auto_save__interval_seconds"] = "9", // not the prefix: not configuration
            ["VECTORIZER_COLLECTIONS__DEFAULTS__HNSW_CONFIG__M"] = "24",
            ["VECTORIZER_Limits__Max_Batch"] = "5",
            ["VECTORIZER_CI"] = "1", // other tools' variables with the prefix are not configuration
            ["VECTORIZER_DATA_CACHE"] = "/cache",
        };
        var (s, _, warnings) = ConfigLoader.Load(null, environment);
        Assert.Empty(warnings);
        Assert.Equal(77, s.FileWatcher.DebounceMs);
        Assert.Equal(["/srv/a"], s.FileWatcher.WatchPaths);
        Assert.Equal(300, s.AutoSave.IntervalSeconds);
        Assert.Equal(24, s.Collections.Defaults.HnswConfig.M);
        Assert.Equal(5, s.Limits.MaxBatch);

        environment["VECTORIZER_SERVER__PROT"] = "1";
        var issue = Assert.Single(Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, environment)).Issues);
        Assert.Equal("`server.prot` (from VECTORIZER_SERVER__PROT): unknown key; expected one of `host`, `port`, `grpc_port`, `grpc_enabled`, `data_dir`, `tls`, `shutdown_delay_seconds`", issue.ToString());
    }

    [Fact]
    public void MissingExplicitFileAndBadValuesAreErrors()
    {
        Assert.Throws<ConfigException>(() => ConfigLoader.Load("/no/such/config.yml", NoEnvironment));
        var path = WriteConfig("server:\n  port: 70000\nlimits:\n  max_batch: 0\n");
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path, NoEnvironment));
        Assert.Contains(error.Issues, i => i.Key == "server.port" && i.Line == 2);
        Assert.Contains(error.Issues, i => i.Key == "limits.max_batch" && i.Line == 4);
    }

    [Fact]
    public void TheProductDocumentsSpellingOfDefaultsIsAnAlias()
    {
        var path = WriteConfig("collections:\n  default:\n    hnsw_config:\n      m: 8\n");
        Assert.Equal(8, ConfigLoader.Load(path, NoEnvironment).Settings.Collections.Defaults.HnswConfig.M);
        var both = ConfigLoader.ValidateYaml("collections:\n  default:\n    hnsw_config:\n      m: 8\n  defaults:\n    hnsw_config:\n      m: 9\n");
        Assert.Contains(both, i => i.Key == "collections.default" && i.Line == 2 && !i.IsWarning);
    }

    [Fact]
    public void EverySectionHasAValidator()
    {
        var sections = typeof(VectorizerSettings).GetProperties().Where(p => p.CanWrite).Select(ConfigSchema.KeyOf);
        Assert.Equal(sections.Order(), ConfigSections.All.Select(s => s.Key).Order());
    }

    [Fact]
    public void ShowRoundTripsThroughTheLoaderAndMasksSecrets()
    {
        var settings = new VectorizerSettings();
        settings.Server.Port = 12345;
        settings.Logging.Format = "json";
        settings.FileWatcher.ExcludePatterns = [];
        settings.FileWatcher.CollectionMapping = new() { ["zz/**"] = "last", ["**/*.md"] = "docs" };
        var path = WriteConfig(ConfigLoader.ToYaml(settings));
        var (reloaded, _, warnings) = ConfigLoader.Load(path, NoEnvironment);
        Assert.Empty(warnings);
        Assert.Equal(ConfigLoader.ToYaml(settings), ConfigLoader.ToYaml(reloaded));
        Assert.Equal(12345, reloaded.Server.Port);
        Assert.Empty(reloaded.FileWatcher.ExcludePatterns);
        Assert.Equal(["zz/**", "**/*.md"], reloaded.FileWatcher.CollectionMapping.Keys);

        var shown = ConfigLoader.ToYaml(new WithSecrets());
        Assert.Contains("api_key: '***'", shown, StringComparison.Ordinal);
        Assert.Contains("admin_password: '***'", shown, StringComparison.Ordinal);
        Assert.Contains("api_key_env: OPENAI_API_KEY", shown, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-", shown, StringComparison.Ordinal);
        Assert.True(ConfigLoader.IsSecret("api_key"));
        Assert.True(ConfigLoader.IsSecret("jwt_secret"));
        Assert.True(ConfigLoader.IsSecret("password"));
        Assert.True(ConfigLoader.IsSecret("token"));
        Assert.False(ConfigLoader.IsSecret("api_key_env")); // names the variable that holds the key
        Assert.False(ConfigLoader.IsSecret("cost_per_1k_tokens"));
        Assert.False(ConfigLoader.IsSecret("max_batch"));
    }

    /// <summary>A section of the shape later features will add (auth): its secrets never reach <c>config show</c>.</summary>
    private sealed class WithSecrets
    {
        [Microsoft.Extensions.Configuration.ConfigurationKeyName("api_key")]
        public string ApiKey { get; set; } = "sk-live-123";

        [Microsoft.Extensions.Configuration.ConfigurationKeyName("admin_password")]
        public string AdminPassword { get; set; } = "sk-hunter2";

        [Microsoft.Extensions.Configuration.ConfigurationKeyName("api_key_env")]
        public string ApiKeyEnv { get; set; } = "OPENAI_API_KEY";
    }
}
