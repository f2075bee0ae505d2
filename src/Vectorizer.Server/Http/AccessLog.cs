using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Vectorizer.Server.Http;

/// <summary>
/// Gives every request an id (its <c>X-Request-Id</c> when it has a usable one, else a new one), returned in the
/// <c>X-Request-Id</c> response header; with <c>logging.log_requests</c>, writes one access-log line per request:
/// method, path and query, status, duration, response bytes, request id (category <c>Vectorizer.Access</c>, fields
/// named for the JSON format).
/// </summary>
public static class AccessLog
{
    public const string Category = "Vectorizer.Access";
    public const string HeaderName = "X-Request-Id";

    /// <summary>The middleware; <paramref name="logger"/> null: ids only, no log.</summary>
    public static Func<HttpContext, RequestDelegate, Task> Middleware(ILogger? logger) => async (context, next) =>
    {
        var id = RequestId(context.Request.Headers[HeaderName]);
        context.TraceIdentifier = id;
        context.Response.OnStarting(static state =>
        {
            var http = (HttpContext)state;
            http.Response.Headers[HeaderName] = http.TraceIdentifier;
            return Task.CompletedTask;
        }, context);
        if (logger is null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var start = Stopwatch.GetTimestamp();
        var body = context.Features.Get<IHttpResponseBodyFeature>()!;
        var counter = new CountingStream(body.Stream);
        var counting = new StreamResponseBodyFeature(counter, body);
        context.Features.Set<IHttpResponseBodyFeature>(counting);
        try
        {
            await next(context).ConfigureAwait(false);
            await counting.CompleteAsync().ConfigureAwait(false); // flushes what the endpoint left in the writer
        }
        finally
        {
            context.Features.Set(body);
            Log(logger, context, Stopwatch.GetElapsedTime(start).TotalMilliseconds, counter.Written, id);
        }
    };

    private static void Log(ILogger logger, HttpContext context, double milliseconds, long bytes, string id) =>
        logger.LogInformation(
            "{Method} {Path} {Status} {DurationMs} ms {Bytes} B {RequestId}",
            context.Request.Method,
            context.Request.Path.Value + context.Request.QueryString.Value,
            context.Response.StatusCode,
            Math.Round(milliseconds, 3),
            bytes,
            id);

    /// <summary>The client's id when it is 1-128 visible ASCII characters, else a new random one (32 hex digits).</summary>
    public static string RequestId(string? given) =>
        given is { Length: > 0 and <= 128 } && given.All(c => c is > ' ' and < (char)127) ? given : Guid.NewGuid().ToString("N");

    /// <summary>Counts what the response writes (the request's body is not counted).</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Written { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            Written += count;
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            Written += buffer.Length;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            Written += buffer.Length;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
