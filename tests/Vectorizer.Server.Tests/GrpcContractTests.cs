using Google.Protobuf.Reflection;
using Q = Qdrant.Client.Grpc;
using V = Vectorizer.Server.Grpc.Protos;

namespace Vectorizer.Server.Tests;

/// <summary>
/// The project's .proto files against the descriptors compiled into the official client (Qdrant.Client): every served
/// rpc exists there with the same request and response types, and every message field and enum value the project
/// declares has the same number and type. Names and numbers are the wire contract; a mismatch is a silent data bug.
/// </summary>
public class GrpcContractTests
{
    private static readonly FileDescriptor[] Ours =
        [V.ServicesReflection.Descriptor, V.PointsReflection.Descriptor, V.CollectionsReflection.Descriptor, V.ValuesReflection.Descriptor];

    private static readonly FileDescriptor[] Theirs =
    [
        Q.QdrantReflection.Descriptor, Q.CollectionsServiceReflection.Descriptor, Q.PointsServiceReflection.Descriptor,
        Q.SnapshotsServiceReflection.Descriptor, Q.CollectionsReflection.Descriptor, Q.PointsReflection.Descriptor,
        Q.QdrantCommonReflection.Descriptor, Q.JsonWithIntReflection.Descriptor,
    ];

    [Fact]
    public void EveryServedRpcHasTheClientsRequestAndResponseTypes()
    {
        var theirs = Theirs.SelectMany(f => f.Services).ToDictionary(s => s.FullName);
        var services = Ours.SelectMany(f => f.Services).ToList();
        Assert.Equal(["qdrant.Collections", "qdrant.Points", "qdrant.Qdrant", "qdrant.Snapshots"], services.Select(s => s.FullName).Order(StringComparer.Ordinal));
        var rpcs = 0;
        foreach (var service in services)
        {
            Assert.True(theirs.TryGetValue(service.FullName, out var their), $"service {service.FullName} is not in Qdrant.Client");
            foreach (var method in service.Methods)
            {
                var match = their!.FindMethodByName(method.Name);
                Assert.True(match is not null, $"rpc {service.FullName}/{method.Name} is not in Qdrant.Client");
                Assert.Equal(match!.InputType.FullName, method.InputType.FullName);
                Assert.Equal(match.OutputType.FullName, method.OutputType.FullName);
                Assert.Equal(match.IsClientStreaming, method.IsClientStreaming);
                Assert.Equal(match.IsServerStreaming, method.IsServerStreaming);
                rpcs++;
            }
        }

        // HealthCheck 1, Collections 14, Points 30, Snapshots 6.
        Assert.Equal(51, rpcs);
    }

    [Fact]
    public void EveryDeclaredFieldHasTheClientsNumberAndType()
    {
        var theirMessages = new Dictionary<string, MessageDescriptor>(StringComparer.Ordinal);
        var theirEnums = new Dictionary<string, EnumDescriptor>(StringComparer.Ordinal);
        foreach (var file in Theirs)
        {
            Collect(file.MessageTypes, file.EnumTypes, theirMessages, theirEnums);
        }

        var ourMessages = new Dictionary<string, MessageDescriptor>(StringComparer.Ordinal);
        var ourEnums = new Dictionary<string, EnumDescriptor>(StringComparer.Ordinal);
        foreach (var file in Ours)
        {
            Collect(file.MessageTypes, file.EnumTypes, ourMessages, ourEnums);
        }

        var problems = new List<string>();
        var fields = 0;
        foreach (var (name, message) in ourMessages)
        {
            if (!theirMessages.TryGetValue(name, out var their))
            {
                problems.Add($"message {name} is not in Qdrant.Client");
                continue;
            }

            foreach (var field in message.Fields.InDeclarationOrder())
            {
                fields++;
                var match = their.FindFieldByName(field.Name);
                if (match is null)
                {
                    problems.Add($"{name}.{field.Name} is not in Qdrant.Client");
                }
                else if (match.FieldNumber != field.FieldNumber || match.FieldType != field.FieldType || match.IsRepeated != field.IsRepeated
                    || match.IsMap != field.IsMap || TypeName(match) != TypeName(field) || match.ContainingOneof?.Name != field.ContainingOneof?.Name)
                {
                    problems.Add($"{name}.{field.Name}: ours {Describe(field)}, Qdrant.Client's {Describe(match)}");
                }
            }
        }

        foreach (var (name, enumeration) in ourEnums)
        {
            if (!theirEnums.TryGetValue(name, out var their))
            {
                problems.Add($"enum {name} is not in Qdrant.Client");
                continue;
            }

            foreach (var value in enumeration.Values)
            {
                if (their.FindValueByName(value.Name) is not { } match || match.Number != value.Number)
                {
                    problems.Add($"{name}.{value.Name} = {value.Number} differs from Qdrant.Client");
                }
            }
        }

        Assert.Empty(problems);
        Assert.True(fields > 900, $"only {fields} fields compared");
    }

    private static void Collect(IEnumerable<MessageDescriptor> messages, IEnumerable<EnumDescriptor> enums, Dictionary<string, MessageDescriptor> messageMap, Dictionary<string, EnumDescriptor> enumMap)
    {
        foreach (var enumeration in enums)
        {
            enumMap[enumeration.FullName] = enumeration;
        }

        foreach (var message in messages)
        {
            messageMap[message.FullName] = message;
            Collect(message.NestedTypes, message.EnumTypes, messageMap, enumMap);
        }
    }

    private static string? TypeName(FieldDescriptor field) => field.FieldType switch
    {
        FieldType.Message or FieldType.Group => field.MessageType.FullName,
        FieldType.Enum => field.EnumType.FullName,
        _ => null,
    };

    private static string Describe(FieldDescriptor field) =>
        $"#{field.FieldNumber} {field.FieldType} {TypeName(field)}{(field.IsRepeated ? " repeated" : "")}{(field.ContainingOneof is { } o ? " in " + o.Name : "")}";
}
