using System.Collections;
using System.Linq.Expressions;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.VectorData.ProviderServices;
using Microsoft.Extensions.VectorData.ProviderServices.Filter;

namespace Vectorizer.VectorData;

/// <summary>
/// LINQ filters (<c>r =&gt; r.Category == "a" &amp;&amp; r.Price &gt;= 10</c>) to Qdrant's JSON filter: <c>==</c>,
/// <c>!=</c>, <c>&lt;</c>, <c>&lt;=</c>, <c>&gt;</c>, <c>&gt;=</c>, <c>&amp;&amp;</c>, <c>||</c>, <c>!</c>, a bool
/// property alone, <c>list.Contains(r.Field)</c> (match any) and <c>r.Tags.Contains(value)</c> (an array field holds
/// the value); <c>== null</c> is <c>is_null</c>. Anything else throws <see cref="NotSupportedException"/>.
/// </summary>
internal sealed class VectorizerFilterTranslator : FilterTranslatorBase
{
    public JsonObject Translate(LambdaExpression filter, CollectionModel model)
    {
        var body = PreprocessFilter(filter, model, new FilterPreprocessingOptions());
        return Filter(Translate(body));
    }

    private static JsonObject Filter(JsonNode condition) =>
        condition is JsonObject o && (o.ContainsKey("must") || o.ContainsKey("should") || o.ContainsKey("must_not")) && !o.ContainsKey("key")
            ? o
            : new JsonObject { ["must"] = new JsonArray(condition) };

    private JsonNode Translate(Expression node) => node switch
    {
        BinaryExpression { NodeType: ExpressionType.AndAlso } and => new JsonObject { ["must"] = new JsonArray(Translate(and.Left), Translate(and.Right)) },
        BinaryExpression { NodeType: ExpressionType.OrElse } or => new JsonObject { ["should"] = new JsonArray(Translate(or.Left), Translate(or.Right)) },
        UnaryExpression { NodeType: ExpressionType.Not } not => new JsonObject { ["must_not"] = new JsonArray(Translate(not.Operand)) },
        UnaryExpression { NodeType: ExpressionType.Convert } convert when convert.Type == typeof(bool) => Translate(convert.Operand),
        BinaryExpression binary => Comparison(binary),
        MethodCallExpression call when TryMatchContains(call, out var source, out var item) => Contains(source, item),
        _ when node.Type == typeof(bool) && TryBindProperty(node, out var property) => Match(property!, true),
        _ => throw new NotSupportedException($"Filter expression `{node}` is not supported by the Vectorizer connector"),
    };

    private JsonNode Comparison(BinaryExpression binary)
    {
        var (property, value, flipped) = TryBindProperty(binary.Left, out var left) ? (left!, binary.Right, false)
            : TryBindProperty(binary.Right, out var right) ? (right!, binary.Left, true)
            : throw new NotSupportedException($"Filter comparison `{binary}` must compare a record property with a value");
        var constant = Value(value);
        switch (binary.NodeType)
        {
            case ExpressionType.Equal:
                return constant is null ? new JsonObject { ["is_null"] = new JsonObject { ["key"] = property.StorageName } } : Match(property, constant);
            case ExpressionType.NotEqual:
                return new JsonObject
                {
                    ["must_not"] = new JsonArray(constant is null ? new JsonObject { ["is_null"] = new JsonObject { ["key"] = property.StorageName } } : Match(property, constant)),
                };
        }

        var op = (binary.NodeType, flipped) switch
        {
            (ExpressionType.GreaterThan, false) or (ExpressionType.LessThan, true) => "gt",
            (ExpressionType.GreaterThanOrEqual, false) or (ExpressionType.LessThanOrEqual, true) => "gte",
            (ExpressionType.LessThan, false) or (ExpressionType.GreaterThan, true) => "lt",
            (ExpressionType.LessThanOrEqual, false) or (ExpressionType.GreaterThanOrEqual, true) => "lte",
            _ => throw new NotSupportedException($"Filter operator {binary.NodeType} is not supported by the Vectorizer connector"),
        };
        return new JsonObject { ["key"] = property.StorageName, ["range"] = new JsonObject { [op] = Json(constant) } };
    }

    private JsonNode Contains(Expression source, Expression item)
    {
        if (TryBindProperty(source, out var arrayProperty))
        {
            // r.Tags.Contains("x"): Qdrant matches an array field when any element matches.
            return Match(arrayProperty!, Value(item) ?? throw new NotSupportedException("Contains(null) is not supported"));
        }

        if (TryBindProperty(item, out var property) && Value(source) is IEnumerable values)
        {
            var any = new JsonArray();
            foreach (var value in values)
            {
                any.Add(Json(value));
            }

            return new JsonObject { ["key"] = property!.StorageName, ["match"] = new JsonObject { ["any"] = any } };
        }

        throw new NotSupportedException("Contains must be list.Contains(r.Property) or r.ArrayProperty.Contains(value)");
    }

    private static JsonObject Match(PropertyModel property, object value) =>
        new() { ["key"] = property.StorageName, ["match"] = new JsonObject { ["value"] = Json(value) } };

    private object? Value(Expression expression) => expression switch
    {
        ConstantExpression constant => constant.Value,
        QueryParameterExpression parameter => parameter.Value,
        UnaryExpression { NodeType: ExpressionType.Convert } convert => Value(convert.Operand),
        _ => Expression.Lambda(expression).Compile().DynamicInvoke(),
    };

    private static JsonNode? Json(object? value) => value switch
    {
        null => null,
        DateTime dateTime => dateTime.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        DateTimeOffset dateTime => dateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        Guid guid => guid.ToString(),
        _ => JsonSerializer.SerializeToNode(value),
    };
}
