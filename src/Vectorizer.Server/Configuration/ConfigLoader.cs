using System.ComponentModel;
using System.Globalization;
using System.Reflection;
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
        ["VECTORIZER_DATA_DIR"] = "server:data_dir",
        ["VECTORIZER_LOG_LEVEL"] = "logging:level",
        ["VECTORIZER_LOG_FORMAT"] = "logging:format",
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

    // ------------------------------------------------------------------ schema

    /// <summary>The configuration key of a property: its <see cref="ConfigurationKeyNameAttribute"/>, else its name.</summary>
    internal static string KeyOf(PropertyInfo property) =>
        property.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? property.Name.ToLowerInvariant();

    internal static IEnumerable<(string Key, PropertyInfo Property)> Properties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.GetIndexParameters().Length == 0).Select(p => (KeyOf(p), p));

    internal static bool IsScalar(Type type) => Nullable.GetUnderlyingType(type) is { } inner ? IsScalar(inner) : type.IsPrimitive || type == typeof(string) || type == typeof(decimal);

    /// <summary>
    /// Checks the merged configuration against the settings' shape before binding: unknown keys, a value where a
    /// section or list belongs (or the reverse), values that do not convert. Lists given replace the defaults (the
    /// binder would append to them).
    /// </summary>
    private sealed class SchemaWalk(YamlPositions positions, IReadOnlyDictionary<string, string> variables, IReadOnlyDictionary<string, string?>? flags)
    {
        public List<ConfigIssue> Issues { get; } = [];

        public void Object(IConfiguration section, object target, string path)
        {
            var properties = Properties(target.GetType()).ToDictionary(p => p.Key, p => p.Property, StringComparer.OrdinalIgnoreCase);
            foreach (var child in section.GetChildren())
            {
                var childPath = ChildPath(path, child.Key);
                if (!properties.TryGetValue(child.Key, out var property))
                {
                    Unknown(target, child, childPath, properties.Keys);
                    continue;
                }

                var type = property.PropertyType;
                if (IsScalar(type))
                {
                    Scalar(child, Nullable.GetUnderlyingType(type) ?? type, childPath);
                }
                else if (type == typeof(List<string>) || type == typeof(OrderedDictionary<string, string>))
                {
                    Strings(child, childPath, type == typeof(List<string>));
                }
                else if (HasChildren(child))
                {
                    Object(child, property.GetValue(target) ?? Activator.CreateInstance(type)!, childPath);
                }
                else if (!string.IsNullOrEmpty(child.Value))
                {
                    Issues.Add(Locate(new ConfigIssue(childPath, $"expected a mapping, got `{child.Value}`"), valueColumn: true));
                }
            }

            // A list or map given replaces the default (the binder would add to it); `[]` leaves nothing in the configuration.
            foreach (var (key, property) in properties)
            {
                var childPath = ChildPath(path, key);
                if ((property.PropertyType == typeof(List<string>) || property.PropertyType == typeof(OrderedDictionary<string, string>))
                    && (section.GetSection(key).Exists() || (positions.TryGet(childPath, out var at) && at.IsEmptySequence)))
                {
                    property.SetValue(target, Activator.CreateInstance(property.PropertyType, property.PropertyType == typeof(List<string>) ? [] : [StringComparer.Ordinal]));
                }
            }
        }

        private void Unknown(object target, IConfigurationSection child, string path, IEnumerable<string> known)
        {
            if (target is VectorizerSettings && ConfigSections.NotYetImplemented.Contains(child.Key))
            {
                Issues.Add(Locate(new ConfigIssue(path, "this section is not implemented in this version and is ignored", IsWarning: true), valueColumn: false));
            }
            else if (target is CollectionDefaults && child.Key is "dimension" or "metric" or "quantization" or "compression")
            {
                Issues.Add(Locate(new ConfigIssue(path, "ignored: collections define this themselves when they are created", IsWarning: true), valueColumn: false));
            }
            else
            {
                Issues.Add(Locate(new ConfigIssue(path, $"unknown key; expected one of {string.Join(", ", known.Select(k => $"`{k}`"))}"), valueColumn: false));
            }
        }

        private void Scalar(IConfigurationSection child, Type type, string path)
        {
            if (HasChildren(child))
            {
                Issues.Add(Locate(new ConfigIssue(path, $"expected a {TypeName(type)}, got a {Shape(child)}"), valueColumn: true));
            }
            else if (type != typeof(string) && !Converts(child.Value, type))
            {
                Issues.Add(Locate(new ConfigIssue(path, $"expected a {TypeName(type)}, got `{child.Value}`"), valueColumn: true));
            }
        }

        private void Strings(IConfigurationSection child, string path, bool list)
        {
            var what = list ? "a list of strings" : "a mapping of strings to strings";
            if (!HasChildren(child))
            {
                if (!string.IsNullOrEmpty(child.Value))
                {
                    Issues.Add(Locate(new ConfigIssue(path, $"expected {what}, got a value"), valueColumn: true));
                }

                return;
            }

            if (list && Shape(child) != "list")
            {
                Issues.Add(Locate(new ConfigIssue(path, $"expected {what}, got a mapping"), valueColumn: true));
                return;
            }

            foreach (var item in child.GetChildren())
            {
                if (HasChildren(item))
                {
                    var itemPath = list ? $"{path}[{item.Key}]" : ChildPath(path, item.Key);
                    Issues.Add(Locate(new ConfigIssue(itemPath, $"expected a string, got a {Shape(item)}"), valueColumn: true));
                }
            }
        }

        /// <summary>Where the effective value of the issue's key came from: a flag, a variable, or the file (the value's or the key's position).</summary>
        public ConfigIssue Locate(ConfigIssue issue, bool valueColumn = true)
        {
            if (flags is not null && flags.Keys.Any(k => DisplayPath(k).Equals(issue.Key, StringComparison.OrdinalIgnoreCase)))
            {
                return issue with { Origin = "the command line" };
            }

            if (variables.TryGetValue(issue.Key, out var variable))
            {
                return issue with { Origin = variable };
            }

            if (positions.TryGet(issue.Key, out var at))
            {
                return valueColumn ? issue with { Line = at.ValueLine, Column = at.ValueColumn } : issue with { Line = at.KeyLine, Column = at.KeyColumn };
            }

            return positions.Nearest(issue.Key) is { } parent ? issue with { Line = parent.KeyLine, Column = parent.KeyColumn } : issue;
        }

        private static bool HasChildren(IConfiguration section) => section.GetChildren().Any();

        private static string Shape(IConfiguration section) =>
            section.GetChildren().All(c => int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _)) ? "list" : "mapping";

        private static bool Converts(string? value, Type type)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                return false;
            }

            try
            {
                TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value);
                return true;
            }
            catch (Exception e) when (e is FormatException or ArgumentException or OverflowException or NotSupportedException)
            {
                return false;
            }
        }

        private static string TypeName(Type type) =>
            type == typeof(string) ? "string" : type == typeof(bool) ? "boolean (true/false)" : type == typeof(double) ? "number" : "whole number";
    }

    // ------------------------------------------------------------------ config show

    /// <summary>
    /// The effective settings (or one section) as YAML, in the keys the loader reads, so the output loads back to the
    /// same settings. Values whose key names a secret (<c>*key*</c>, <c>*secret*</c>, <c>*token*</c>, <c>*password*</c>;
    /// not <c>*_env</c>/<c>*_file</c>, which say where a secret is) are masked.
    /// </summary>
    public static string ToYaml(object settings) =>
        new SerializerBuilder().WithIndentedSequences().Build().Serialize(Tree(settings));

    private static Dictionary<string, object?> Tree(object value)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, property) in Properties(value.GetType()))
        {
            var child = property.GetValue(value);
            result[key] = child switch
            {
                null => null,
                string text when IsSecret(key) && text.Length > 0 => "***",
                OrderedDictionary<string, string> map => map.ToDictionary(kv => kv.Key, kv => (object?)kv.Value, StringComparer.Ordinal),
                List<string> list => list,
                _ when IsScalar(property.PropertyType) => child,
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
        return words[^1] is not ("env" or "file")
            && words.Any(w => w is "key" or "apikey" or "secret" or "token" or "password" or "passwd");
    }
}
