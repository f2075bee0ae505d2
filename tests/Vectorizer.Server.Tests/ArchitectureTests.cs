using System.Reflection;
using Microsoft.AspNetCore.Http;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Http;

namespace Vectorizer.Server.Tests;

public class ArchitectureTests
{
    [Fact]
    public void EveryErrorCodeMapsToAStatusAndAMessage()
    {
        foreach (var code in Enum.GetValues<ErrorCode>())
        {
            var status = ErrorMapper.StatusCode(code);
            Assert.InRange(status, 400, 599);
            Assert.False(string.IsNullOrEmpty(ErrorMapper.Message(code, "x")));
        }

        Assert.Equal(StatusCodes.Status404NotFound, ErrorMapper.StatusCode(ErrorCode.CollectionNotFound));
        Assert.Equal(StatusCodes.Status409Conflict, ErrorMapper.StatusCode(ErrorCode.CollectionAlreadyExists));
        Assert.Equal(StatusCodes.Status413PayloadTooLarge, ErrorMapper.StatusCode(ErrorCode.PayloadTooLarge));
        Assert.Equal(StatusCodes.Status422UnprocessableEntity, ErrorMapper.StatusCode(ErrorCode.ValidationFailed));
        Assert.Equal(StatusCodes.Status502BadGateway, ErrorMapper.StatusCode(ErrorCode.EmbeddingProviderFailed));
    }

    [Fact]
    public void ErrorCodeValuesAreFrozen()
    {
        // Persisted and public: renumbering would change what clients and logs see.
        Assert.Equal(1, (int)ErrorCode.BadRequest);
        Assert.Equal(10, (int)ErrorCode.CollectionNotFound);
        Assert.Equal(20, (int)ErrorCode.CollectionAlreadyExists);
        Assert.Equal(30, (int)ErrorCode.WrongVectorDimension);
        Assert.Equal(70, (int)ErrorCode.EmbeddingProviderFailed);
        Assert.Equal(1, (int)Vectorizer.Engine.Operations.WalOperationKind.Upsert);
        Assert.Equal(8, (int)Vectorizer.Engine.Operations.WalOperationKind.DeleteVectors);
        Assert.Equal(1, (int)Vectorizer.Engine.Vectors.Distance.Cosine);
        Assert.Equal(4, (int)Vectorizer.Engine.Vectors.Distance.Manhattan);
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
