using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Vectorizer.Engine.Diagnostics;
using Vectorizer.Ingestion;
using Vectorizer.Server.Api.Ops;
using Vectorizer.Server.Api.Qdrant;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Hosting;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Observability;

/// <summary>
/// Metrics, traces, readiness and health in the host: <see cref="AddVectorizerObservability"/> registers them,
/// <see cref="UseVectorizerObservability"/> adds the request measurement and the loading gate to the pipeline,
/// <see cref="MapObservabilityApi"/> maps <c>/metrics</c>, the probes, <c>/health/detailed</c> and <c>/telemetry</c>.
/// OpenTelemetry's SDK reads the instruments (BCL <c>Meter</c>s: the server's, the ingestion library's, the runtime's
/// <c>System.Runtime</c>) and activities (<c>ActivitySource</c>s: ASP.NET Core's, the server's, the engine's).
/// </summary>
public static class ObservabilityExtensions
{
    /// <summary>The runtime's own meter (.NET 9+): CPU time, working set, GC, thread pool, exceptions.</summary>
    public const string RuntimeMeter = "System.Runtime";

    /// <summary>Requests that make no trace (probes and scrapes would drown the rest).</summary>
    private static readonly IReadOnlySet<string> Untraced = new HashSet<string>(StringComparer.Ordinal) { "/metrics", "/livez", "/readyz", "/healthz" };

    public static IServiceCollection AddVectorizerObservability(this IServiceCollection services, VectorizerSettings settings)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<RequestStats>();
        services.AddSingleton<HttpMetrics>();
        services.AddSingleton<CollectionReadings>();
        services.AddSingleton<DataDiskProbe>();
        services.AddSingleton<ServerReadiness>();
        services.AddHostedService(provider => provider.GetRequiredService<ServerReadiness>());

        if (!settings.Metrics.Enabled && !settings.Telemetry.IsEnabled)
        {
            return services;
        }

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(settings.Telemetry.ServiceName, serviceVersion: ServiceApi.Version));
        if (settings.Metrics.Enabled)
        {
            services.AddSingleton<ServerGauges>();
            telemetry.WithMetrics(metrics => metrics
                .AddMeter(ServerTelemetry.MeterName, IngestionTelemetry.MeterName, RuntimeMeter)
                // Prometheus reserves `_count` for histograms (promtool check metrics): constants go, the thread count is renamed.
                .AddView("dotnet.assembly.count", MetricStreamConfiguration.Drop)
                .AddView("dotnet.timer.count", MetricStreamConfiguration.Drop)
                .AddView("dotnet.process.cpu.count", MetricStreamConfiguration.Drop)
                .AddView("dotnet.thread_pool.thread.count", new MetricStreamConfiguration { Name = "dotnet.thread_pool.threads" })
                .AddPrometheusExporter(options => options.ScrapeResponseCacheDurationMilliseconds = 0));

            // The server's instruments come from this host's IMeterFactory; another host in the same process (tests) has
            // meters of the same name, which this host must not report.
            services.ConfigureOpenTelemetryMeterProvider((provider, builder) =>
            {
                var own = provider.GetRequiredService<IMeterFactory>();
                builder.AddView(instrument => instrument.Meter.Name == ServerTelemetry.MeterName && !ReferenceEquals(instrument.Meter.Scope, own)
                    ? MetricStreamConfiguration.Drop
                    : null);
            });
        }

        if (settings.Telemetry.IsEnabled)
        {
            var section = settings.Telemetry;
            telemetry.WithTracing(tracing => tracing
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(section.SampleRatio)))
                .AddAspNetCoreInstrumentation(options => options.Filter = context => !Untraced.Contains(context.Request.Path.Value ?? ""))
                .AddSource(ServerTelemetry.SourceName, EngineTelemetry.SourceName)
                .AddOtlpExporter(options =>
                {
                    options.Protocol = section.OtlpProtocol == "grpc" ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
                    var endpoint = section.OtlpEndpoint;
                    // The http/protobuf exporter posts to the endpoint as given: add the signal's path when it has none.
                    options.Endpoint = new Uri(options.Protocol == OtlpExportProtocol.HttpProtobuf && new Uri(endpoint).AbsolutePath is "/" or ""
                        ? endpoint.TrimEnd('/') + "/v1/traces"
                        : endpoint);
                }));
        }

        return services;
    }

    /// <summary>Measures every request (run it early) and answers 503 to all but the probes until the engine has loaded.</summary>
    public static WebApplication UseVectorizerObservability(this WebApplication app)
    {
        app.Use(app.Services.GetRequiredService<HttpMetrics>().InvokeAsync);
        app.Use(HealthApi.LoadingGate(app.Services.GetRequiredService<EngineLifetime>()));
        if (app.Services.GetRequiredService<VectorizerSettings>().Metrics.Enabled)
        {
            _ = app.Services.GetRequiredService<ServerGauges>(); // registers the observable instruments
        }

        return app;
    }

    public static WebApplication MapObservabilityApi(this WebApplication app)
    {
        app.MapHealthApi();
        app.MapTelemetryApi();
        if (app.Services.GetRequiredService<VectorizerSettings>().Metrics.Enabled)
        {
            var scrape = app.MapPrometheusScrapingEndpoint("/metrics");
            if (app.Services.GetRequiredService<VectorizerSettings>().Metrics.RequireAuth)
            {
                scrape.RequireAccess(AccessLevel.Read);
            }
            else
            {
                // metrics.require_auth: false. Open like the probes, but still rate-limited (a scrape reads every collection).
                scrape.AllowAnonymous();
            }
        }

        return app;
    }
}
