using System.Text;
using Vectorizer.Engine.Errors;

namespace Vectorizer.Engine.Collections;

/// <summary>Collection and alias names: 1..255 bytes, no path separators or other characters unsafe in file names.</summary>
public static class CollectionNames
{
    private const string Forbidden = "<>:\"/\\|?*";

    public static void Validate(string name, string what = "collection name")
    {
        if (string.IsNullOrEmpty(name))
        {
            throw VectorizerException.Validation($"{what} must not be empty");
        }

        if (Encoding.UTF8.GetByteCount(name) > 255)
        {
            throw VectorizerException.Validation($"{what} must be at most 255 bytes long");
        }

        if (name is "." or "..")
        {
            throw VectorizerException.Validation($"{what} cannot be `{name}`");
        }

        foreach (var c in name)
        {
            if (Forbidden.Contains(c) || char.IsControl(c))
            {
                throw VectorizerException.Validation(char.IsControl(c)
                    ? $"{what} cannot contain control characters"
                    : $"{what} cannot contain \"{c}\" char");
            }
        }

        if (name != name.Trim())
        {
            throw VectorizerException.Validation($"{what} cannot start or end with white space");
        }
    }
}
