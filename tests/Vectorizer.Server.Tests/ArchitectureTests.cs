using System.Reflection;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Vectors.Quantization;
using Vectorizer.Ingestion;
using Vectorizer.Server.Http;

namespace Vectorizer.Server.Tests;

public class ArchitectureTests
{
    /// <summary>
    /// Every error code of every layer, by name and number, with the HTTP status it maps to. Numbers are public (logs,
    /// clients) and never reused; a new code is added here, with its status, in the same commit.
    /// </summary>
    public static readonly TheoryData<string, int, int> EngineCodes = new()
    {
        { "BadRequest", 1, 400 },
        { "ValidationFailed", 3, 422 },
        { "OperationTooLarge", 4, 413 },
        { "CollectionNotFound", 10, 404 },
        { "PointNotFound", 11, 404 },
        { "AliasNotFound", 12, 404 },
        { "VectorNameNotFound", 13, 400 },
        { "SnapshotNotFound", 14, 404 },
        { "CollectionAlreadyExists", 20, 409 },
        { "AliasAlreadyExists", 21, 409 },
        { "CollectionFailed", 22, 409 },
        { "WrongVectorDimension", 30, 400 },
        { "ShuttingDown", 40, 503 },
        { "DataDirectoryInUse", 41, 503 },
        { "Forbidden", 42, 403 },
        { "NotMaster", 43, 421 },
        { "WriteConcernFailed", 44, 504 },
        { "ReplicationDiverged", 45, 409 },
        { "StorageFailure", 50, 500 },
        { "Internal", 60, 500 },
    };

    public static readonly TheoryData<string, int, int> IngestionCodes = new()
    {
        { "EmbeddingProviderFailed", 1, 502 },
        { "CostLimitReached", 2, 429 },
    };

    public static readonly TheoryData<string, int, int> ApiCodes = new()
    {
        { "MalformedBody", 1, 400 },
        { "RequestTooLarge", 2, 413 },
        { "Unauthorized", 3, 401 },
        { "InvalidPathParameters", 4, 422 },
        { "InvalidQueryParameters", 5, 422 },
        { "StandaloneMode", 6, 405 },
    };

    [Theory]
    [MemberData(nameof(EngineCodes))]
    public void EngineErrorCodeIsFrozenAndMapped(string name, int number, int status)
    {
        var code = Enum.Parse<ErrorCode>(name);
        Assert.Equal(number, (int)code);
        Assert.Equal(status, ErrorMapper.StatusCode(code));
        Assert.False(string.IsNullOrEmpty(ErrorMapper.Message(code, "x")));
        Assert.Equal((status, ErrorMapper.Message(code, "x")), ErrorMapper.Map(new VectorizerException(code, "x")));
    }

    [Theory]
    [MemberData(nameof(IngestionCodes))]
    public void IngestionErrorCodeIsFrozenAndMapped(string name, int number, int status)
    {
        var code = Enum.Parse<IngestionErrorCode>(name);
        Assert.Equal(number, (int)code);
        Assert.Equal(status, ErrorMapper.StatusCode(code));
        Assert.Equal((status, ErrorMapper.Message(code, "x")), ErrorMapper.Map(new IngestionException(code, "x")));
    }

    [Theory]
    [MemberData(nameof(ApiCodes))]
    public void ApiErrorCodeIsFrozenAndMapped(string name, int number, int status)
    {
        var code = Enum.Parse<ApiErrorCode>(name);
        Assert.Equal(number, (int)code);
        Assert.Equal(status, ErrorMapper.StatusCode(code));
        Assert.Equal((status, ErrorMapper.Message(code, "x")), ErrorMapper.Map(new ApiException(code, "x")));
    }

    [Fact]
    public void TheFrozenTablesListEveryCode()
    {
        // A code added to an enum but not to the tables above fails here.
        Assert.Equal(Enum.GetNames<ErrorCode>().Order(), EngineCodes.Select(row => (string)row[0]).Order());
        Assert.Equal(Enum.GetNames<IngestionErrorCode>().Order(), IngestionCodes.Select(row => (string)row[0]).Order());
        Assert.Equal(Enum.GetNames<ApiErrorCode>().Order(), ApiCodes.Select(row => (string)row[0]).Order());
        Assert.Null(ErrorMapper.Map(new InvalidOperationException("not ours")));
    }

    [Fact]
    public void PersistedEnumValuesAreFrozen()
    {
        Assert.Equal(1, (int)Vectorizer.Engine.Operations.WalOperationKind.Upsert);
        Assert.Equal(8, (int)Vectorizer.Engine.Operations.WalOperationKind.DeleteVectors);
        Assert.Equal(1, (int)Vectorizer.Engine.Vectors.Distance.Cosine);
        Assert.Equal(4, (int)Vectorizer.Engine.Vectors.Distance.Manhattan);
    }

    [Fact]
    public void EngineConfigTypesHoldNoJson()
    {
        // The engine's settings are typed; JSON (Qdrant's) is parsed and rendered by the server. Opaque client data is
        // an OpaqueJson the engine never looks into.
        var seen = new HashSet<Type>();
        var pending = new Stack<Type>([typeof(CollectionConfig), typeof(EngineOptions)]);
        while (pending.TryPop(out var type))
        {
            type = Nullable.GetUnderlyingType(type) ?? type;
            if (!seen.Add(type) || type.Assembly != typeof(CollectionConfig).Assembly)
            {
                foreach (var argument in type.IsGenericType ? type.GetGenericArguments() : [])
                {
                    pending.Push(argument);
                }

                continue;
            }

            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
                Assert.False(
                    propertyType.Namespace?.StartsWith("System.Text.Json", StringComparison.Ordinal) == true,
                    $"{type.Name}.{property.Name} is a {propertyType.Name}: engine settings must be typed");
                pending.Push(property.PropertyType);
            }
        }

        Assert.Contains(typeof(QuantizationSettings), seen);
        Assert.Contains(typeof(TextIndexParams), seen);
    }

    [Fact]
    public void EngineAndIngestionReferenceNoAspNetCoreOrCommandLine()
    {
        var engine = typeof(CollectionManager).Assembly;
        var references = engine.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(references, r => r.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.DoesNotContain(references, r => r.StartsWith("System.CommandLine", StringComparison.Ordinal));
        Assert.DoesNotContain(references, r => r.StartsWith("YamlDotNet", StringComparison.Ordinal));
        Assert.DoesNotContain(references, r => r.StartsWith("OpenTelemetry", StringComparison.Ordinal)); // BCL ActivitySource only
        Assert.DoesNotContain(references, r => r.StartsWith("Vectorizer.Server", StringComparison.Ordinal));
        var ingestion = typeof(Vectorizer.Ingestion.IngestionService).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(ingestion, r => r.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.DoesNotContain(ingestion, r => r.StartsWith("Vectorizer.Server", StringComparison.Ordinal));
        Assert.DoesNotContain(ingestion, r => r.StartsWith("YamlDotNet", StringComparison.Ordinal));
        Assert.DoesNotContain(ingestion, r => r.StartsWith("Spectre.Console", StringComparison.Ordinal));
        Assert.DoesNotContain(ingestion, r => r.StartsWith("OpenTelemetry", StringComparison.Ordinal)); // BCL Meter only
        var server = typeof(ErrorMapper).Assembly;
        Assert.DoesNotContain(server.GetReferencedAssemblies(), a => a.Name == "System.CommandLine");
        Assert.DoesNotContain(server.GetReferencedAssemblies(), a => a.Name == "Spectre.Console");
    }
}
