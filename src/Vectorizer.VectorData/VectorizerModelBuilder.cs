using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace Vectorizer.VectorData;

/// <summary>
/// Record definitions (attributes or a <c>VectorStoreCollectionDefinition</c>) as Vectorizer stores them: the key is the
/// point id (<see cref="ulong"/> or <see cref="Guid"/>), every vector a named vector, every data property a payload key.
/// </summary>
internal sealed class VectorizerModelBuilder() : CollectionModelBuilder(new CollectionModelBuildingOptions
{
    SupportsMultipleVectors = true,
    RequiresAtLeastOneVector = false,
})
{
    private static readonly HashSet<Type> DataTypes =
    [
        typeof(string), typeof(int), typeof(long), typeof(short), typeof(uint), typeof(float), typeof(double), typeof(decimal),
        typeof(bool), typeof(DateTime), typeof(DateTimeOffset), typeof(Guid),
    ];

    protected override void ValidateKeyProperty(KeyPropertyModel keyProperty)
    {
        var type = Nullable.GetUnderlyingType(keyProperty.Type) ?? keyProperty.Type;
        if (type != typeof(ulong) && type != typeof(Guid) && type != typeof(object))
        {
            throw new NotSupportedException($"Vectorizer keys are ulong or Guid (point ids); property `{keyProperty.ModelName}` is {keyProperty.Type.Name}.");
        }
    }

    protected override bool IsDataPropertyTypeValid(Type type, out string supportedTypes)
    {
        supportedTypes = "string, int, long, float, double, decimal, bool, DateTime, DateTimeOffset, Guid, and arrays or lists of them";
        var element = type.IsArray ? type.GetElementType()! : type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>) ? type.GetGenericArguments()[0] : type;
        element = Nullable.GetUnderlyingType(element) ?? element;
        return DataTypes.Contains(element) || type == typeof(object);
    }

    protected override bool IsVectorPropertyTypeValid(Type type, out string supportedTypes)
    {
        supportedTypes = "ReadOnlyMemory<float>, Embedding<float>, float[]";
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t == typeof(ReadOnlyMemory<float>) || t == typeof(Embedding<float>) || t == typeof(float[]);
    }
}
