using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;
using YamlDotNet.Serialization;

namespace Vectorizer.Server.Configuration;

/// <summary>
/// A problem in the configuration: its key (<c>server.port</c>), and where the value came from: a line and column of
/// the file, or the environment variable or flag that set it.
/// </summary>
public sealed record ConfigIssue(string Key, string Message, int? Line = null, int? Column = null, bool IsWarning = false, string? Origin = null)
{
    public override string ToString() =>
        (Line is { } line ? $"line {line}, column {Column}: " : "")
        + (Key.Length > 0 ? $"`{Key}`" + (Origin is null ? "" : $" (from {Origin})") + ": " : Origin is null ? "" : $"{Origin}: ")
        + Message;
}

/// <summary>Thrown when the configuration is invalid; lists every issue.</summary>
public sealed class ConfigException(IReadOnlyList<ConfigIssue> issues)
    : Exception("Invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, issues.Select(i => "  " + i)))
{
    public IReadOnlyList<ConfigIssue> Issues { get; } = issues;
}

/// <summary>The bound and validated settings, the file they came from (null: none) and the warnings to print.</summary>
public sealed record LoadedConfig(VectorizerSettings Settings, string? Path, IReadOnlyList<ConfigIssue> Warnings);

/// <summary>
/// Loads <see cref="VectorizerSettings"/> through <c>Microsoft.Extensions.Configuration</c>: defaults, then
/// <c>config.yml</c> (NetEscapades' YAML provider), then <c>VECTORIZER_*</c> environment variables, then flags; bound
/// by the configuration binder (keys from <see cref="ConfigurationKeyNameAttribute"/>) and validated per section
/// (<see cref="ConfigSections"/>). Every unknown key and every value of the wrong type is an error naming the key and
/// where it came from (a line of the file, a variable, a flag).
/// </summary>
public static class ConfigLoader
{
    public const string ConfigEnvironmentVariable = "VECTORIZER_CONFIG";

    /// <summary>Variables of the configuration (besides <c>VECTORIZER_SECTION__KEY</c>): the documented short names.</summary>
    public static readonly IReadOnlyDictionary<string, string> ShortEnvironmentNames = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["VECTORIZER_HOST"] = "server:host",
        ["VECTORIZER_PORT"] = "server:port",
        ["VECTORIZER_GRPC_PORT"] = "server:grpc_port",
        ["VECTORIZER_DATA_DIR"] = "server:data_dir",
        ["VECTORIZER_LOG_LEVEL"] = "logging:level",
        ["VECTORIZER_LOG_FORMAT"] = "logging:format",
        ["VECTORIZER_API_KEY"] = "auth:api_key",
        ["VECTORIZER_READ_ONLY_API_KEY"] = "auth:read_only_api_key",
        ["VECTORIZER_JWT_SECRET"] = "auth:jwt_secret",
    };

    private const string EnvironmentPrefix = "VECTORIZER_";

    /// <summary>
    /// Resolves the config file (the flag, else <c>VECTORIZER_CONFIG</c>, else <c>./config.yml</c> when present), then
    /// binds and validates it with the environment and <paramref name="flags"/> (configuration keys such as
    /// <c>server:port</c>). Throws <see cref="ConfigException"/> on errors.
    /// </summary>
    public static LoadedConfig Load(string? configPath, IReadOnlyDictionary<string, string?> environment, IReadOnlyDictionary<string, string?>? flags = null)
    {
        var (loaded, issues) = Check(configPath, environment, flags);
        var errors = issues.Where(i => !i.IsWarning).ToList();
        return errors.Count > 0 || loaded is null ? throw new ConfigException(errors) : loaded;
    }

    /// <summary>Like <see cref="Load"/>, but returns every issue (errors and warnings) instead of throwing.</summary>
    public static (LoadedConfig? Config, IReadOnlyList<ConfigIssue> Issues) Check(
        string? configPath, IReadOnlyDictionary<string, string?> environment, IReadOnlyDictionary<string, string?>? flags = null)
    {
        var path = ResolvePath(configPath, environment);
        string? yaml = null;
        if (path is not null)
        {
            try
            {
                yaml = File.ReadAllText(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                var message = e is FileNotFoundException or DirectoryNotFoundException ? $"config file `{path}` not found" : $"cannot read `{path}`: {e.Message}";
                return (null, [new ConfigIssue("", message)]);
            }
        }

        var (settings, issues) = Bind(yaml, environment, flags);
        return (issues.Any(i => !i.IsWarning) ? null : new LoadedConfig(settings, path, [.. issues.Where(i => i.IsWarning)]), issues);
    }

    /// <summary>Checks a YAML document over the defaults, without the environment; returns every issue (errors and warnings).</summary>
    public static IReadOnlyList<ConfigIssue> ValidateYaml(string yaml) => Bind(yaml, new Dictionary<string, string?>(), null).Issues;

    /// <summary>Problems of every section of <paramref name="settings"/> (for settings built in code, such as the tests').</summary>
    public static IReadOnlyList<ConfigIssue> Validate(VectorizerSettings settings) => [.. ConfigSections.Validate(settings)];

    /// <summary>The file to read: the flag, else <c>VECTORIZER_CONFIG</c>, else <c>./config.yml</c> when present, else none.</summary>
    public static string? ResolvePath(string? configPath, IReadOnlyDictionary<string, string?> environment) =>
        !string.IsNullOrEmpty(configPath) ? configPath
        : environment.TryGetValue(ConfigEnvironmentVariable, out var fromEnvironment) && !string.IsNullOrEmpty(fromEnvironment) ? fromEnvironment
        : File.Exists("config.yml") ? "config.yml"
        : null;

    public static IReadOnlyDictionary<string, string?> CurrentEnvironment()
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            result[(string)entry.Key] = entry.Value as string;
        }

        return result;
    }

    private static (VectorizerSettings Settings, List<ConfigIssue> Issues) Bind(
        string? yaml, IReadOnlyDictionary<string, string?> environment, IReadOnlyDictionary<string, string?>? flags)
    {
        var positions = YamlPositions.Parse(yaml ?? "", out var syntax);
        if (syntax is not null)
        {
            return (new VectorizerSettings(), [syntax]);
        }

        var (variables, variableNames) = FromEnvironment(environment);
        var builder = new ConfigurationBuilder();
        if (!string.IsNullOrWhiteSpace(yaml))
        {
            builder.AddYamlStream(new MemoryStream(Encoding.UTF8.GetBytes(yaml)));
        }

        builder.AddInMemoryCollection(variables).AddInMemoryCollection(flags ?? new Dictionary<string, string?>());
        IConfigurationRoot configuration;
        try
        {
            configuration = builder.Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or InvalidCastException)
        {
            // Keys that differ only in case (IConfiguration's keys are case-insensitive, like the variables').
            return (new VectorizerSettings(), [new ConfigIssue("", e.InnerException?.Message ?? e.Message)]);
        }

        var walk = new SchemaWalk(positions, variableNames, flags);
        var settings = new VectorizerSettings();
        walk.Object(configuration, settings, "");
        if (walk.Issues.Any(i => !i.IsWarning))
        {
            return (settings, walk.Issues);
        }

        // Not BinderOptions.ErrorOnUnknownConfiguration: it compares keys with property names, ignoring
        // [ConfigurationKeyName] (it rejects `file_watcher`), and stops at the first key; the walk did that job.
        configuration.Bind(settings);
        Normalize(settings, configuration, positions, walk);
        walk.Issues.AddRange(ConfigSections.Validate(settings).Select(issue => walk.Locate(issue)));
        return (settings, walk.Issues);
    }

    /// <summary><c>collections.default</c> becomes <c>collections.defaults</c>; <c>collection_mapping</c> takes the file's order.</summary>
    private static void Normalize(VectorizerSettings settings, IConfiguration configuration, YamlPositions positions, SchemaWalk walk)
    {
        if (settings.Collections.Default is { } alias)
        {
            if (configuration.GetSection("collections:defaults").Exists())
            {
                walk.Issues.Add(walk.Locate(new ConfigIssue("collections.default", "give `collections.defaults` or `collections.default` (the same section), not both"), valueColumn: false));
            }

            settings.Collections.Defaults = alias;
            settings.Collections.Default = null;
        }

        var mapping = settings.FileWatcher.CollectionMapping;
        var ordered = new OrderedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (pattern, collection) in mapping.OrderBy(kv => positions.TryGet($"file_watcher.collection_mapping.{kv.Key}", out var at) ? at.Order : int.MaxValue))
        {
            ordered.Add(pattern, collection);
        }

        settings.FileWatcher.CollectionMapping = ordered;
    }

    /// <summary>
    /// <c>VECTORIZER_SECTION__KEY</c> (any case; <c>__</c> separates levels) and the documented short names as
    /// configuration keys. Other <c>VECTORIZER_*</c> variables are not configuration (<c>VECTORIZER_CI</c>, ...).
    /// </summary>
    private static (Dictionary<string, string?> Values, Dictionary<string, string> Names) FromEnvironment(IReadOnlyDictionary<string, string?> environment)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in environment.Where(v => v.Key.Contains("__", StringComparison.Ordinal)).Concat(environment.Where(v => ShortEnvironmentNames.ContainsKey(v.Key))))
        {
            if (!name.StartsWith(EnvironmentPrefix, StringComparison.Ordinal) || string.IsNullOrEmpty(value))
            {
                continue;
            }

            var key = ShortEnvironmentNames.TryGetValue(name, out var shortKey)
                ? shortKey
                : name[EnvironmentPrefix.Length..].ToLowerInvariant().Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal);
            values[key] = value;
            names[DisplayPath(key)] = name;
        }

        return (values, names);
    }

    // ------------------------------------------------------------------ paths

    /// <summary><c>file_watcher:watch_paths:0</c> → <c>file_watcher.watch_paths[0]</c>.</summary>
    public static string DisplayPath(string configurationPath)
    {
        var builder = new StringBuilder();
        foreach (var segment in configurationPath.Split(ConfigurationPath.KeyDelimiter))
        {
            builder.Append(int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out _) ? $"[{segment}]" : (builder.Length > 0 ? "." : "") + segment);
        }

        return builder.ToString();
    }

    public static string ChildPath(string parent, string key) => parent.Length == 0 ? key : key.Length == 0 ? parent : $"{parent}.{key}";

    public static string ParentPath(string path)
    {
        var cut = path.EndsWith(']') ? path.LastIndexOf('[') : path.LastIndexOf('.');
        return cut <= 0 ? "" : path[..cut];
    }

    // ------------------------------------------------------------------ config show

    /// <summary>
    /// The effective settings (or one section) as YAML, in the keys the loader reads, so the output loads back to the
    /// same settings. Values whose key names a secret (<c>*key*</c>, <c>*secret*</c>, <c>*token*</c>, <c>*password*</c>;
    /// not <c>*_env</c>/<c>*_file</c>/<c>*_path</c>, which say where a secret is) are masked.
    /// </summary>
    public static string ToYaml(object settings) =>
        new SerializerBuilder().WithIndentedSequences().Build().Serialize(Tree(settings));

    private static Dictionary<string, object?> Tree(object value)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, property) in ConfigSchema.Properties(value.GetType()))
        {
            var child = property.GetValue(value);
            result[key] = child switch
            {
                null => null,
                string text when IsSecret(key) && text.Length > 0 => "***",
                OrderedDictionary<string, string> map => map.ToDictionary(kv => kv.Key, kv => (object?)kv.Value, StringComparer.Ordinal),
                List<string> list => list,
                _ when ConfigSchema.IsScalar(property.PropertyType) => child,
                _ => Tree(child),
            };
            if (child is null)
            {
                result.Remove(key);
            }
        }

        return result;
    }

    public static bool IsSecret(string key)
    {
        var words = key.ToLowerInvariant().Split('_');
        return words[^1] is not ("env" or "file" or "path")
            && words.Any(w => w is "key" or "apikey" or "secret" or "token" or "password" or "passwd");
    }
}
