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
        Assert.Contains(warnings, w => w.Key == "replication");
        Assert.Contains(warnings, w => w.Key == "collections.default.dimension");
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
        Assert.Equal("line 3, column 3: `server.prot`: unknown key; expected one of `host`, `port`, `data_dir`", issues.First(i => i.Key == "server.prot").ToString());
        var valueIssues = ConfigLoader.ValidateYaml("logging:\n  format: xml\n");
        Assert.Contains(valueIssues, i => i.Key == "logging.format" && i.Message.Contains("xml", StringComparison.Ordinal));
        var syntax = ConfigLoader.ValidateYaml("server:\n  port: [1, 2\n");
        Assert.Contains(syntax, i => i.Message.StartsWith("YAML syntax error", StringComparison.Ordinal) && i.Line is not null);
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
        var (flags, _, _) = ConfigLoader.Load(null, environment, x => x.Server.Port = 18000);
        Assert.Equal(18000, flags.Server.Port);
        Assert.Equal("/from/env", flags.Server.DataDir);
        environment["VECTORIZER_HOST"] = "0.0.0.0";
        Assert.Equal("0.0.0.0", ConfigLoader.Load(null, environment).Settings.Server.Host);
        environment["VECTORIZER_PORT"] = "http";
        Assert.Contains(Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, environment)).Issues, i => i.Key == "VECTORIZER_PORT");
    }

    [Fact]
    public void MissingExplicitFileAndBadValuesAreErrors()
    {
        Assert.Throws<ConfigException>(() => ConfigLoader.Load("/no/such/config.yml", NoEnvironment));
        var path = WriteConfig("server:\n  port: 70000\nlimits:\n  max_batch: 0\n");
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path, NoEnvironment));
        Assert.Contains(error.Issues, i => i.Key == "server.port");
        Assert.Contains(error.Issues, i => i.Key == "limits.max_batch");
    }

    [Fact]
    public void ShowRoundTripsThroughTheLoader()
    {
        var settings = new VectorizerSettings();
        settings.Server.Port = 12345;
        settings.Logging.Format = "json";
        var yaml = ConfigLoader.ToYaml(settings);
        var reloaded = new VectorizerSettings();
        Assert.Empty(ConfigLoader.ApplyYaml(yaml, reloaded));
        Assert.Equal(12345, reloaded.Server.Port);
        Assert.Equal("json", reloaded.Logging.Format);
    }
}
