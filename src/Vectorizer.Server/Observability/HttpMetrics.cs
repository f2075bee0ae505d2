using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Vectorizer.Server.Observability;

/// <summary>
/// Measures every HTTP request: requests by route template, method and status, a latency histogram by route and
/// method, requests in flight (Prometheus: <c>vectorizer_http_requests_total</c>,
/// <c>vectorizer_http_request_duration_seconds</c>, <c>vectorizer_http_requests_in_flight</c>), and feeds
/// <see cref="RequestStats"/>. Labels are bounded: the endpoint's template (never the raw path; <c>unmatched</c> when no
/// endpoint matched), one of the standard methods or <c>_OTHER</c>, the status code.
/// </summary>
public sealed class HttpMetrics
{
    public const string Unmatched = "unmatched";

    /// <summary>Seconds: 0.5 ms to 10 s, dense where REST queries land.</summary>
    private static readonly double[] DurationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private static readonly string[] StatusLabels = [.. Enumerable.Range(0, 600).Select(code => code.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    private readonly Counter<long> requests;
    private readonly Histogram<double> duration;
    private readonly UpDownCounter<long> inFlight;
    private readonly RequestStats stats;

    public HttpMetrics(IMeterFactory meters, RequestStats stats)
    {
        this.stats = stats;
        var meter = meters.Create(ServerTelemetry.MeterName);
        requests = meter.CreateCounter<long>("vectorizer.http.requests", "{request}", "HTTP requests answered, by route template, method and status");
        duration = meter.CreateHistogram<double>(
            "vectorizer.http.request.duration",
            "s",
            "Time from the request's arrival to the end of its response, by route template and method",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        inFlight = meter.CreateUpDownCounter<long>("vectorizer.http.requests.in_flight", "{request}", "HTTP requests being served");
    }

    /// <summary>The middleware: wraps everything after it (run it early).</summary>
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var start = Stopwatch.GetTimestamp();
        var live = inFlight.Enabled;
        if (live)
        {
            inFlight.Add(1);
        }

        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(start);
            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? Unmatched;
            var method = Method(context.Request.Method);
            var status = context.Response.StatusCode;
            stats.Record(method, route, status, elapsed);
            if (live)
            {
                inFlight.Add(-1);
                requests.Add(1, new TagList { { "route", route }, { "method", method }, { "status", Status(status) } });
                duration.Record(elapsed.TotalSeconds, new TagList { { "route", route }, { "method", method } });
            }
        }
    }

    private static string Status(int status) => (uint)status < (uint)StatusLabels.Length ? StatusLabels[status] : "other";

    private static string Method(string method) => method switch
    {
        _ when HttpMethods.IsGet(method) => HttpMethods.Get,
        _ when HttpMethods.IsPost(method) => HttpMethods.Post,
        _ when HttpMethods.IsPut(method) => HttpMethods.Put,
        _ when HttpMethods.IsDelete(method) => HttpMethods.Delete,
        _ when HttpMethods.IsPatch(method) => HttpMethods.Patch,
        _ when HttpMethods.IsHead(method) => HttpMethods.Head,
        _ when HttpMethods.IsOptions(method) => HttpMethods.Options,
        _ => "_OTHER",
    };
}
