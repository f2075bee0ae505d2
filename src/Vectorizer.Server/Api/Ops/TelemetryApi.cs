using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Vectorizer.Server.Api.Qdrant;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Application;
using Vectorizer.Server.Hosting;
using Vectorizer.Server.Http;
using Vectorizer.Server.Observability;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Api.Ops;

/// <summary>
/// Qdrant's <c>GET /telemetry</c> (issue 11's version, in its own file: a Qdrant-conformance branch may bring its own;
/// keep one). Read from the same sources as the metrics and <c>/health/detailed</c>: <see cref="RequestStats"/> and
/// <see cref="CollectionReadings"/>. Server-wide, so it needs global read access.
/// </summary>
public static class TelemetryApi
{
    public static IEndpointRouteBuilder MapTelemetryApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/telemetry", (HttpContext context) => Telemetry(context)).RequireAccess(AccessLevel.Read);
        return app;
    }

    /// <summary>
    /// Qdrant's <c>GET /telemetry</c> for one node: <c>id</c> (this process), <c>app</c> (name, version, startup, system),
    /// <c>collections</c> (their number; with <c>details_level</c> ≥ 1 one entry each), <c>requests.rest.responses</c>
    /// per <c>METHOD route</c> and status, and an empty <c>grpc</c>. <c>anonymize=true</c> replaces collection names by hashes.
    /// </summary>
    private static IResult Telemetry(HttpContext context)
    {
        var query = context.Request.Query;
        var details = QueryParameters.Int(query["details_level"], "details_level") ?? 0;
        if (details < 0)
        {
            throw new ApiException(ApiErrorCode.MalformedBody, "Query deserialize error: `details_level` must be 0 or more");
        }

        var anonymize = QueryParameters.Bool(query["anonymize"], "anonymize", fallback: false);
        var services = context.RequestServices;
        var clock = services.GetService<ServerClock>()!;
        var stats = services.GetService<RequestStats>()!;
        var disk = services.GetService<DataDiskProbe>()!;
        var readings = services.GetService<CollectionReadings>()!.Current();
        return QdrantResults.Ok(w =>
        {
            w.WriteStartObject();
            w.WriteString("id", TelemetryId);
            w.WriteStartObject("app");
            w.WriteString("name", "vectorizer");
            w.WriteString("version", ServiceApi.Version);
            w.WriteString("startup", clock.StartedAt);
            w.WriteStartObject("system");
            w.WriteString("distribution", OperatingSystemName());
            w.WriteBoolean("is_docker", File.Exists("/.dockerenv"));
            w.WriteNumber("cores", Environment.ProcessorCount);
            w.WriteNumber("ram_size", GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1024);
            w.WriteNumber("disk_size", disk.Read().Total / 1024);
            w.WriteString("cpu_flags", CpuFlags());
            w.WriteString("cpu_endian", BitConverter.IsLittleEndian ? "little" : "big");
            w.WriteEndObject();
            w.WriteEndObject();

            w.WriteStartObject("collections");
            w.WriteNumber("number_of_collections", readings.Count);
            if (details >= 1)
            {
                w.WriteStartArray("collections");
                foreach (var reading in readings)
                {
                    w.WriteStartObject();
                    w.WriteString("id", anonymize ? Anonymized(reading.Name) : reading.Name);
                    w.WriteNumber("points", reading.Points);
                    w.WriteNumber("vectors", reading.IndexedVectors + reading.UnindexedVectors);
                    w.WriteString("status", reading.Status);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();

            w.WriteStartObject("requests");
            w.WriteStartObject("rest");
            w.WriteStartObject("responses");
            string? current = null;
            foreach (var (operation, status, s) in stats.Operations())
            {
                if (operation != current)
                {
                    if (current is not null)
                    {
                        w.WriteEndObject();
                    }

                    w.WriteStartObject(operation);
                    current = operation;
                }

                w.WriteStartObject(status.ToString(CultureInfo.InvariantCulture));
                w.WriteNumber("count", s.Count);
                w.WriteNumber("fail_count", status >= 500 ? s.Count : 0);
                w.WriteNumber("avg_duration_micros", Math.Round(s.AverageMicros, 3));
                w.WriteNumber("min_duration_micros", Math.Round(s.MinMicros, 3));
                w.WriteNumber("max_duration_micros", Math.Round(s.MaxMicros, 3));
                w.WriteNumber("total_duration_micros", s.TotalMicros);
                w.WriteString("last_responded", s.LastResponded);
                w.WriteEndObject();
            }

            if (current is not null)
            {
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject("grpc");
            w.WriteStartObject("responses");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    /// <summary>One id per process (Qdrant keeps one per node).</summary>
    private static readonly string TelemetryId = Guid.NewGuid().ToString();

    private static string Anonymized(string name) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name)))[..16];

    private static string OperatingSystemName()
    {
        try
        {
            foreach (var line in File.ReadLines("/etc/os-release"))
            {
                if (line.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))
                {
                    return line["PRETTY_NAME=".Length..].Trim('"');
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return System.Runtime.InteropServices.RuntimeInformation.OSDescription;
    }

    private static string CpuFlags()
    {
        var flags = new List<string>();
        if (System.Runtime.Intrinsics.X86.Sse41.IsSupported)
        {
            flags.Add("sse");
        }

        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
        {
            flags.Add("avx2");
        }

        if (System.Runtime.Intrinsics.X86.Fma.IsSupported)
        {
            flags.Add("fma");
        }

        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
        {
            flags.Add("avx512");
        }

        if (System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported)
        {
            flags.Add("neon");
        }

        return string.Join(',', flags);
    }
}
