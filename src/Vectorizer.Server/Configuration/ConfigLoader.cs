using System.Globalization;
using System.Reflection;
using System.Text;
using Vectorizer.Engine.Collections;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Vectorizer.Server.Configuration;

/// <summary>A problem in the configuration, with the key path and, for file problems, the line.</summary>
public sealed record ConfigIssue(string Key, string Message, int? Line = null, int? Column = null, bool IsWarning = false)
{
    public override string ToString() =>
        (Line is { } line ? $"line {line}, column {Column}: " : "") + (Key.Length > 0 ? $"`{Key}`: " : "") + Message;
}

/// <summary>Thrown when the configuration is invalid; lists every issue.</summary>
public sealed class ConfigException(IReadOnlyList<ConfigIssue> issues)
    : Exception("Invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, issues.Select(i => "  " + i)))
{
    public IReadOnlyList<ConfigIssue> Issues { get; } = issues;
}

/// <summary>
/// Loads <see cref="VectorizerSettings"/>: defaults, then <c>config.yml</c> (unknown keys and wrong types are
/// errors naming the key and line), then <c>VECTORIZER_*</c> environment variables, then flags.
/// </summary>
public static class ConfigLoader
{
    /// <summary>Sections the product documents describe that this version does not implement yet: warned about, then ignored.</summary>
    private static readonly HashSet<string> FutureSections = new(StringComparer.Ordinal)
    {
        "performance", "replication", "auth", "rate_limit", "security", "monitoring", "tls",
        "backup", "mcp", "cache", "metrics", "cluster", "api", "storage", "compression", "quantization",
    };

    public const string ConfigEnvironmentVariable = "VECTORIZER_CONFIG";

    /// <summary>
    /// Resolves the config file (flag, else <c>VECTORIZER_CONFIG</c>, else <c>./config.yml</c> when present), applies
    /// it, the environment and the overrides, and validates. Throws <see cref="ConfigException"/> on errors.
    /// </summary>
    public static (VectorizerSettings Settings, string? ConfigPath, IReadOnlyList<ConfigIssue> Warnings) Load(
        string? configPath, IReadOnlyDictionary<string, string?> environment, Action<VectorizerSettings>? overrides = null)
    {
        var path = configPath;
        if (string.IsNullOrEmpty(path) && environment.TryGetValue(ConfigEnvironmentVariable, out var fromEnvironment) && !string.IsNullOrEmpty(fromEnvironment))
        {
            path = fromEnvironment;
        }

        var explicitPath = !string.IsNullOrEmpty(path);
        if (!explicitPath && File.Exists("config.yml"))
        {
            path = "config.yml";
        }

        var settings = new VectorizerSettings();
        var issues = new List<ConfigIssue>();
        if (!string.IsNullOrEmpty(path))
        {
            if (!File.Exists(path))
            {
                throw new ConfigException([new ConfigIssue("", $"config file `{path}` not found")]);
            }

            issues.AddRange(ApplyYaml(File.ReadAllText(path), settings));
        }

        issues.AddRange(ApplyEnvironment(environment, settings));
        overrides?.Invoke(settings);
        issues.AddRange(Validate(settings));
        var errors = issues.Where(i => !i.IsWarning).ToList();
        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        return (settings, path, issues.Where(i => i.IsWarning).ToList());
    }

    /// <summary>Checks a YAML document without applying the environment; returns every issue (errors and warnings).</summary>
    public static IReadOnlyList<ConfigIssue> ValidateYaml(string yaml)
    {
        var settings = new VectorizerSettings();
        var issues = ApplyYaml(yaml, settings).ToList();
        if (issues.All(i => i.IsWarning))
        {
            issues.AddRange(Validate(settings));
        }

        return issues;
    }

    public static IReadOnlyDictionary<string, string?> CurrentEnvironment()
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            result[(string)entry.Key] = entry.Value as string;
        }

        return result;
    }

    // ------------------------------------------------------------------ YAML

    public static IReadOnlyList<ConfigIssue> ApplyYaml(string yaml, VectorizerSettings settings)
    {
        var issues = new List<ConfigIssue>();
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            issues.Add(new ConfigIssue("", "YAML syntax error: " + (e.InnerException?.Message ?? e.Message), (int)e.Start.Line, (int)e.Start.Column));
            return issues;
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return issues;
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var node = stream.Documents[0].RootNode;
            issues.Add(new ConfigIssue("", "the configuration must be a mapping of sections", (int)node.Start.Line, (int)node.Start.Column));
            return issues;
        }

        ApplyMapping(root, settings, "", issues);
        return issues;
    }

    private static void ApplyMapping(YamlMappingNode mapping, object target, string prefix, List<ConfigIssue> issues)
    {
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            var path = prefix.Length == 0 ? key : $"{prefix}.{key}";
            var line = (int)keyNode.Start.Line;
            var column = (int)keyNode.Start.Column;
            var property = FindProperty(target.GetType(), key);
            if (property is null && target is CollectionsSection && key == "default")
            {
                // The product documents call it `collections.default`; the issue tracker `defaults`.
                property = typeof(CollectionsSection).GetProperty(nameof(CollectionsSection.Defaults));
            }

            if (property is null)
            {
                if (prefix.Length == 0 && FutureSections.Contains(key))
                {
                    issues.Add(new ConfigIssue(path, "this section is not implemented in this version and is ignored", line, column, IsWarning: true));
                }
                else if (target is CollectionDefaults && key is "dimension" or "metric" or "quantization" or "compression")
                {
                    issues.Add(new ConfigIssue(path, "ignored: collections define this themselves when they are created", line, column, IsWarning: true));
                }
                else
                {
                    var known = string.Join(", ", target.GetType().GetProperties().Select(p => $"`{SnakeCase(p.Name)}`"));
                    issues.Add(new ConfigIssue(path, $"unknown key; expected one of {known}", line, column));
                }

                continue;
            }

            if (IsScalar(property.PropertyType))
            {
                if (valueNode is not YamlScalarNode scalar)
                {
                    issues.Add(new ConfigIssue(path, $"expected a {TypeName(property.PropertyType)}, got a {NodeKind(valueNode)}", (int)valueNode.Start.Line, (int)valueNode.Start.Column));
                    continue;
                }

                if (TryConvert(scalar.Value, property.PropertyType, out var value))
                {
                    property.SetValue(target, value);
                }
                else
                {
                    issues.Add(new ConfigIssue(path, $"expected a {TypeName(property.PropertyType)}, got `{scalar.Value}`", (int)valueNode.Start.Line, (int)valueNode.Start.Column));
                }

                continue;
            }

            if (property.PropertyType == typeof(List<string>))
            {
                if (ReadList(valueNode, path, issues) is { } list)
                {
                    property.SetValue(target, list);
                }

                continue;
            }

            if (property.PropertyType == typeof(List<KeyValuePair<string, string>>))
            {
                if (ReadMap(valueNode, path, issues) is { } map)
                {
                    property.SetValue(target, map);
                }

                continue;
            }

            if (valueNode is not YamlMappingNode child)
            {
                if (valueNode is YamlScalarNode { Value: null or "" or "~" or "null" })
                {
                    continue;
                }

                issues.Add(new ConfigIssue(path, $"expected a mapping, got a {NodeKind(valueNode)}", (int)valueNode.Start.Line, (int)valueNode.Start.Column));
                continue;
            }

            ApplyMapping(child, property.GetValue(target)!, path, issues);
        }
    }

    /// <summary>A list of strings (<c>[a, b]</c> or one item per line); null (and an issue) when it is something else.</summary>
    private static List<string>? ReadList(YamlNode node, string path, List<ConfigIssue> issues)
    {
        if (node is YamlScalarNode { Value: null or "" or "~" or "null" })
        {
            return [];
        }

        if (node is not YamlSequenceNode sequence)
        {
            issues.Add(new ConfigIssue(path, $"expected a list of strings, got a {NodeKind(node)}", (int)node.Start.Line, (int)node.Start.Column));
            return null;
        }

        var result = new List<string>();
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            if (sequence.Children[i] is YamlScalarNode { Value: { } value })
            {
                result.Add(value);
            }
            else
            {
                var item = sequence.Children[i];
                issues.Add(new ConfigIssue($"{path}[{i}]", $"expected a string, got a {NodeKind(item)}", (int)item.Start.Line, (int)item.Start.Column));
                return null;
            }
        }

        return result;
    }

    /// <summary>A mapping of strings to strings, in file order.</summary>
    private static List<KeyValuePair<string, string>>? ReadMap(YamlNode node, string path, List<ConfigIssue> issues)
    {
        if (node is YamlScalarNode { Value: null or "" or "~" or "null" })
        {
            return [];
        }

        if (node is not YamlMappingNode mapping)
        {
            issues.Add(new ConfigIssue(path, $"expected a mapping of strings to strings, got a {NodeKind(node)}", (int)node.Start.Line, (int)node.Start.Column));
            return null;
        }

        var result = new List<KeyValuePair<string, string>>();
        foreach (var (key, value) in mapping.Children)
        {
            if (key is not YamlScalarNode { Value: { } name } || value is not YamlScalarNode { Value: { } text })
            {
                issues.Add(new ConfigIssue($"{path}.{(key as YamlScalarNode)?.Value}", "expected a string", (int)value.Start.Line, (int)value.Start.Column));
                return null;
            }

            result.Add(new KeyValuePair<string, string>(name, text));
        }

        return result;
    }

    private static PropertyInfo? FindProperty(Type type, string key)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.CanWrite && SnakeCase(property.Name) == key)
            {
                return property;
            }
        }

        return null;
    }

    public static string SnakeCase(string name)
    {
        var builder = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            // "CostPer1kTokens" → cost_per_1k_tokens; "K1" stays k1.
            var digitWord = char.IsAsciiDigit(name[i]) && i > 0 && char.IsLetter(name[i - 1]) && i + 1 < name.Length && char.IsLower(name[i + 1]);
            if ((char.IsUpper(name[i]) && i > 0) || digitWord)
            {
                builder.Append('_');
            }

            builder.Append(char.ToLowerInvariant(name[i]));
        }

        return builder.ToString();
    }

    private static bool IsScalar(Type type) => type == typeof(string) || type == typeof(int) || type == typeof(bool) || type == typeof(double) || type == typeof(long);

    private static string TypeName(Type type) =>
        type == typeof(string) ? "string" : type == typeof(bool) ? "boolean (true/false)" : type == typeof(double) ? "number" : "whole number";

    private static string NodeKind(YamlNode node) => node switch
    {
        YamlMappingNode => "mapping",
        YamlSequenceNode => "list",
        _ => "value",
    };

    private static bool TryConvert(string? text, Type type, out object? value)
    {
        value = null;
        if (type == typeof(string))
        {
            value = text ?? "";
            return true;
        }

        if (text is null)
        {
            return false;
        }

        if (type == typeof(int) && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i))
        {
            value = i;
            return true;
        }

        if (type == typeof(long) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l))
        {
            value = l;
            return true;
        }

        if (type == typeof(double) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            value = d;
            return true;
        }

        if (type == typeof(bool) && text is "true" or "false" or "True" or "False")
        {
            value = text is "true" or "True";
            return true;
        }

        return false;
    }

    // ------------------------------------------------------------------ environment

    private static IEnumerable<ConfigIssue> ApplyEnvironment(IReadOnlyDictionary<string, string?> environment, VectorizerSettings settings)
    {
        if (Get(environment, "VECTORIZER_HOST") is { } host)
        {
            settings.Server.Host = host;
        }

        if (Get(environment, "VECTORIZER_PORT") is { } port)
        {
            if (int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                settings.Server.Port = number;
            }
            else
            {
                yield return new ConfigIssue("VECTORIZER_PORT", $"expected a whole number, got `{port}`");
            }
        }

        if (Get(environment, "VECTORIZER_DATA_DIR") is { } dataDir)
        {
            settings.Server.DataDir = dataDir;
        }

        if (Get(environment, "VECTORIZER_LOG_LEVEL") is { } level)
        {
            settings.Logging.Level = level;
        }

        if (Get(environment, "VECTORIZER_LOG_FORMAT") is { } format)
        {
            settings.Logging.Format = format;
        }
    }

    private static string? Get(IReadOnlyDictionary<string, string?> environment, string name) =>
        environment.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value : null;

    // ------------------------------------------------------------------ validation

    public static IEnumerable<ConfigIssue> Validate(VectorizerSettings s)
    {
        if (string.IsNullOrWhiteSpace(s.Server.Host))
        {
            yield return new ConfigIssue("server.host", "must not be empty");
        }

        if (s.Server.Port is < 0 or > 65535)
        {
            yield return new ConfigIssue("server.port", $"{s.Server.Port} is not a TCP port (0-65535)");
        }

        if (string.IsNullOrWhiteSpace(s.Server.DataDir))
        {
            yield return new ConfigIssue("server.data_dir", "must not be empty");
        }

        if (s.Logging.Level is not ("trace" or "debug" or "info" or "warn" or "error"))
        {
            yield return new ConfigIssue("logging.level", $"`{s.Logging.Level}` is not one of trace, debug, info, warn, error");
        }

        if (s.Logging.Format is not ("text" or "json"))
        {
            yield return new ConfigIssue("logging.format", $"`{s.Logging.Format}` is not one of text, json");
        }

        var hnsw = s.Collections.Defaults.HnswConfig;
        if (hnsw.M is < 0 or > 512)
        {
            yield return new ConfigIssue("collections.defaults.hnsw_config.m", $"{hnsw.M} is outside 0-512");
        }

        if (hnsw.EfConstruction < 4)
        {
            yield return new ConfigIssue("collections.defaults.hnsw_config.ef_construction", "must be at least 4");
        }

        if (hnsw.EfSearch < 1)
        {
            yield return new ConfigIssue("collections.defaults.hnsw_config.ef_search", "must be at least 1");
        }

        if (s.AutoSave.IntervalSeconds < 1)
        {
            yield return new ConfigIssue("auto_save.interval_seconds", "must be at least 1");
        }

        if (s.AutoSave.MinOperations < 1)
        {
            yield return new ConfigIssue("auto_save.min_operations", "must be at least 1");
        }

        if (s.Limits.MaxRequestMb is < 1 or > 4096)
        {
            yield return new ConfigIssue("limits.max_request_mb", "must be between 1 and 4096");
        }

        if (s.Limits.MaxVectorSize is < 1 or > 65536)
        {
            yield return new ConfigIssue("limits.max_vector_size", "must be between 1 and 65536");
        }

        if (s.Limits.MaxBatch < 1)
        {
            yield return new ConfigIssue("limits.max_batch", "must be at least 1");
        }

        if (EmbeddingIssue(s.Embedding) is { } embedding)
        {
            yield return embedding;
        }

        foreach (var issue in FileWatcherIssues(s.FileWatcher))
        {
            yield return issue;
        }
    }

    /// <summary>Problems of the <c>file_watcher:</c> section, each naming its key (also used when the section is hot-reloaded).</summary>
    public static IEnumerable<ConfigIssue> FileWatcherIssues(FileWatcherSection section)
    {
        const string prefix = "file_watcher";
        if (section.Enabled && section.WatchPaths.Count == 0)
        {
            yield return new ConfigIssue($"{prefix}.watch_paths", "list at least one directory to watch when `enabled` is true");
        }

        for (var i = 0; i < section.WatchPaths.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(section.WatchPaths[i]))
            {
                yield return new ConfigIssue($"{prefix}.watch_paths[{i}]", "must not be empty");
            }
        }

        if (section.DebounceMs is < 0 or > 60_000)
        {
            yield return new ConfigIssue($"{prefix}.debounce_ms", $"{section.DebounceMs} is outside 0-60000");
        }

        if (section.MaxFileSize < 1)
        {
            yield return new ConfigIssue($"{prefix}.max_file_size", "must be at least 1 byte");
        }

        for (var i = 0; i < section.ExcludePatterns.Count; i++)
        {
            if (GlobIssue(section.ExcludePatterns[i]) is { } problem)
            {
                yield return new ConfigIssue($"{prefix}.exclude_patterns[{i}]", problem);
            }
        }

        for (var i = 0; i < section.IncludeExtensions.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(section.IncludeExtensions[i].Replace(",", "", StringComparison.Ordinal).Trim('.')))
            {
                yield return new ConfigIssue($"{prefix}.include_extensions[{i}]", "must be an extension such as `.md`");
            }
        }

        foreach (var (pattern, collection) in section.CollectionMapping)
        {
            if (GlobIssue(pattern) is { } problem)
            {
                yield return new ConfigIssue($"{prefix}.collection_mapping.{pattern}", problem);
            }

            if (CollectionNameIssue(collection) is { } name)
            {
                yield return new ConfigIssue($"{prefix}.collection_mapping.{pattern}", name);
            }
        }

        if (CollectionNameIssue(section.DefaultCollection) is { } defaultName)
        {
            yield return new ConfigIssue($"{prefix}.default_collection", defaultName);
        }
    }

    private static string? GlobIssue(string pattern)
    {
        try
        {
            Ingestion.Files.Glob.Parse(pattern);
            return null;
        }
        catch (Engine.Errors.VectorizerException e)
        {
            return e.Message;
        }
    }

    private static string? CollectionNameIssue(string name)
    {
        try
        {
            CollectionNames.Validate(name);
            return null;
        }
        catch (Engine.Errors.VectorizerException e)
        {
            return e.Message;
        }
    }

    /// <summary>An unknown provider or a bad value in <c>embedding:</c> stops the server at startup, naming the key.</summary>
    private static ConfigIssue? EmbeddingIssue(EmbeddingSection section)
    {
        try
        {
            section.ToEmbeddingConfig();
            return null;
        }
        catch (Engine.Errors.VectorizerException e)
        {
            // The messages start with the field's path ("embedding.dense.provider: ...").
            var colon = e.Message.IndexOf(": ", StringComparison.Ordinal);
            return colon > 0 && e.Message.StartsWith("embedding", StringComparison.Ordinal)
                ? new ConfigIssue(e.Message[..colon], e.Message[(colon + 2)..])
                : new ConfigIssue("embedding", e.Message);
        }
    }

    /// <summary>The effective settings as YAML (for <c>vectorizer config show</c>).</summary>
    public static string ToYaml(VectorizerSettings settings)
    {
        var builder = new StringBuilder();
        WriteYaml(builder, settings, 0);
        return builder.ToString();
    }

    /// <summary>One section as YAML (to tell whether a reloaded section changed).</summary>
    public static string SectionYaml(object section)
    {
        var builder = new StringBuilder();
        WriteYaml(builder, section, 0);
        return builder.ToString();
    }

    private static void WriteYaml(StringBuilder builder, object value, int indent)
    {
        foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanWrite)
            {
                continue;
            }

            var child = property.GetValue(value);
            builder.Append(' ', indent).Append(SnakeCase(property.Name)).Append(':');
            if (child is List<string> list)
            {
                builder.Append(" [").AppendJoin(", ", list.Select(FormatScalar)).AppendLine("]");
            }
            else if (child is List<KeyValuePair<string, string>> map)
            {
                if (map.Count == 0)
                {
                    builder.AppendLine(" {}");
                    continue;
                }

                builder.AppendLine();
                foreach (var (key, text) in map)
                {
                    builder.Append(' ', indent + 2).Append(FormatScalar(key)).Append(": ").AppendLine(FormatScalar(text));
                }
            }
            else if (child is null || IsScalar(property.PropertyType))
            {
                builder.Append(' ').Append(FormatScalar(child)).AppendLine();
            }
            else
            {
                builder.AppendLine();
                WriteYaml(builder, child, indent + 2);
            }
        }
    }

    private static string FormatScalar(object? value) => value switch
    {
        null => "null",
        string s => "\"" + s.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
