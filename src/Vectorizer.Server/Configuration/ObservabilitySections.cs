using Microsoft.Extensions.Configuration;

namespace Vectorizer.Server.Configuration;

/// <summary>
/// The <c>metrics:</c> section: <c>GET /metrics</c> in the Prometheus text format. Off, the endpoint is not mapped and
/// no instrument is listened to (recording one then costs a flag check).
/// </summary>
public sealed class MetricsSection
{
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// With authentication on (<c>auth.enabled</c>), <c>/metrics</c> needs a credential with global read access (the
    /// read-only key suits a scraper); false opens it to anyone who can reach the port. Without auth it is open either way.
    /// </summary>
    [ConfigurationKeyName("require_auth")]
    public bool RequireAuth { get; set; } = true;
}

/// <summary>
/// The <c>telemetry:</c> section: OpenTelemetry traces sent by OTLP to a collector (Jaeger, Tempo, the OpenTelemetry
/// Collector, ...). Off while <c>otlp_endpoint</c> is empty.
/// </summary>
public sealed class TelemetrySection
{
    /// <summary>The collector's address: <c>http://host:4317</c> (gRPC) or <c>http://host:4318</c> (http/protobuf; <c>/v1/traces</c> is added).</summary>
    [ConfigurationKeyName("otlp_endpoint")]
    public string OtlpEndpoint { get; set; } = "";

    /// <summary><c>grpc</c> or <c>http/protobuf</c>.</summary>
    [ConfigurationKeyName("otlp_protocol")]
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>The <c>service.name</c> resource attribute of the spans.</summary>
    [ConfigurationKeyName("service_name")]
    public string ServiceName { get; set; } = "vectorizer";

    /// <summary>Fraction of traces recorded when the caller did not decide (a <c>traceparent</c>'s sampled flag is followed).</summary>
    [ConfigurationKeyName("sample_ratio")]
    public double SampleRatio { get; set; } = 1.0;

    public bool IsEnabled => OtlpEndpoint.Length > 0;
}

public sealed class MetricsValidator : SectionValidator<MetricsSection>
{
    public override IEnumerable<(string Key, string Message)> Check(MetricsSection options) => [];
}

public sealed class TelemetryValidator : SectionValidator<TelemetrySection>
{
    public override IEnumerable<(string Key, string Message)> Check(TelemetrySection s)
    {
        if (s.OtlpEndpoint.Length > 0
            && !(Uri.TryCreate(s.OtlpEndpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0))
        {
            yield return ("otlp_endpoint", $"`{s.OtlpEndpoint}` is not an http:// or https:// address (such as http://localhost:4317)");
        }

        if (s.OtlpProtocol is not ("grpc" or "http/protobuf"))
        {
            yield return ("otlp_protocol", $"`{s.OtlpProtocol}` is not one of grpc, http/protobuf");
        }

        if (string.IsNullOrWhiteSpace(s.ServiceName))
        {
            yield return ("service_name", "must not be empty");
        }

        if (!(s.SampleRatio is >= 0 and <= 1))
        {
            yield return ("sample_ratio", $"{s.SampleRatio} is outside 0-1");
        }
    }
}
