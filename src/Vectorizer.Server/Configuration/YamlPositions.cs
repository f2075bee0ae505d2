using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Vectorizer.Server.Configuration;

/// <summary>
/// Where each key of a YAML document is, by its display path (<c>server.port</c>, <c>file_watcher.watch_paths[0]</c>),
/// in document order. The configuration API keeps no positions (nor the order of a mapping), so <c>config validate</c>
/// and the loader's messages take them from here; YamlDotNet is what NetEscapades' provider parses with too.
/// </summary>
public sealed class YamlPositions
{
    private readonly Dictionary<string, Entry> entries = new(StringComparer.OrdinalIgnoreCase);

    private YamlPositions()
    {
    }

    /// <summary>The key's line and column and its value's, and the key's rank in the document.</summary>
    public readonly record struct Entry(int KeyLine, int KeyColumn, int ValueLine, int ValueColumn, int Order, bool IsEmptySequence);

    /// <summary>Positions of every key; a syntax error or a document that is not a mapping comes back as an issue.</summary>
    public static YamlPositions Parse(string yaml, out ConfigIssue? error)
    {
        var result = new YamlPositions();
        error = null;
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            error = new ConfigIssue("", "YAML syntax error: " + (e.InnerException?.Message ?? e.Message), (int)e.Start.Line, (int)e.Start.Column);
            return result;
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return result;
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var node = stream.Documents[0].RootNode;
            error = new ConfigIssue("", "the configuration must be a mapping of sections", (int)node.Start.Line, (int)node.Start.Column);
            return result;
        }

        result.Visit(root, "");
        return result;
    }

    public bool TryGet(string path, out Entry entry) => entries.TryGetValue(path, out entry);

    /// <summary>The entry of <paramref name="path"/> or, when the file does not have that key, of its nearest parent.</summary>
    public Entry? Nearest(string path)
    {
        for (var current = path; current.Length > 0; current = ConfigLoader.ParentPath(current))
        {
            if (entries.TryGetValue(current, out var entry))
            {
                return entry;
            }
        }

        return null;
    }

    private void Visit(YamlNode node, string path)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                foreach (var (key, value) in mapping.Children)
                {
                    var child = ConfigLoader.ChildPath(path, (key as YamlScalarNode)?.Value ?? "");
                    Add(child, key, value);
                    Visit(value, child);
                }

                break;
            case YamlSequenceNode sequence:
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    var child = $"{path}[{i}]";
                    Add(child, sequence.Children[i], sequence.Children[i]);
                    Visit(sequence.Children[i], child);
                }

                break;
        }
    }

    private void Add(string path, YamlNode key, YamlNode value) =>
        entries.TryAdd(path, new Entry(
            (int)key.Start.Line, (int)key.Start.Column, (int)value.Start.Line, (int)value.Start.Column, entries.Count,
            value is YamlSequenceNode { Children.Count: 0 }));
}
