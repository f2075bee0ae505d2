using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Vectorizer.Server.Configuration;

/// <summary>The settings' shape as configuration sees it: each property's key, and which types are values.</summary>
internal static class ConfigSchema
{
    /// <summary>The configuration key of a property: its <see cref="ConfigurationKeyNameAttribute"/>, else its name.</summary>
    internal static string KeyOf(PropertyInfo property) =>
        property.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? property.Name.ToLowerInvariant();

    internal static IEnumerable<(string Key, PropertyInfo Property)> Properties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.GetIndexParameters().Length == 0).Select(p => (KeyOf(p), p));

    internal static bool IsScalar(Type type) => Nullable.GetUnderlyingType(type) is { } inner ? IsScalar(inner) : type.IsPrimitive || type == typeof(string) || type == typeof(decimal);
}

/// <summary>
/// Checks the merged configuration against the settings' shape before binding: unknown keys, a value where a
/// section or list belongs (or the reverse), values that do not convert. Lists given replace the defaults (the
/// binder would append to them).
/// </summary>
internal sealed class SchemaWalk(YamlPositions positions, IReadOnlyDictionary<string, string> variables, IReadOnlyDictionary<string, string?>? flags)
{
    public List<ConfigIssue> Issues { get; } = [];

    public void Object(IConfiguration section, object target, string path)
    {
        var properties = ConfigSchema.Properties(target.GetType()).ToDictionary(p => p.Key, p => p.Property, StringComparer.OrdinalIgnoreCase);
        foreach (var child in section.GetChildren())
        {
            var childPath = ConfigLoader.ChildPath(path, child.Key);
            if (!properties.TryGetValue(child.Key, out var property))
            {
                Unknown(target, child, childPath, properties.Keys);
                continue;
            }

            var type = property.PropertyType;
            if (ConfigSchema.IsScalar(type))
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
            var childPath = ConfigLoader.ChildPath(path, key);
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
            // A switch that turns on a feature this version lacks is refused: the operator would believe it works.
            var switchedOn = child.AsEnumerable(makePathsRelative: false)
                .FirstOrDefault(e => e.Key.EndsWith(":enabled", StringComparison.OrdinalIgnoreCase) && bool.TryParse(e.Value, out var on) && on);
            Issues.Add(switchedOn.Key is { } enabledKey
                ? Locate(new ConfigIssue(ConfigLoader.DisplayPath(enabledKey), "turns on a feature this version does not have; remove the section or set it to false"), valueColumn: true)
                : Locate(new ConfigIssue(path, "this section is not implemented in this version and is ignored", IsWarning: true), valueColumn: false));
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
                var itemPath = list ? $"{path}[{item.Key}]" : ConfigLoader.ChildPath(path, item.Key);
                Issues.Add(Locate(new ConfigIssue(itemPath, $"expected a string, got a {Shape(item)}"), valueColumn: true));
            }
        }
    }

    /// <summary>Where the effective value of the issue's key came from: a flag, a variable, or the file (the value's or the key's position).</summary>
    public ConfigIssue Locate(ConfigIssue issue, bool valueColumn = true)
    {
        if (flags is not null && flags.Keys.Any(k => ConfigLoader.DisplayPath(k).Equals(issue.Key, StringComparison.OrdinalIgnoreCase)))
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
