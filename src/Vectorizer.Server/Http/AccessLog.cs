using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Vectorizer.Server.Http;

/// <summary>
/// Gives every request an id and puts it, with the trace id, on every log line the request causes. The id is the
/// request's <c>X-Request-Id</c> when it has a usable one; else the W3C trace id of the request (from its
/// <c>traceparent</c> when it came with one, else the new trace ASP.NET Core started), so that without a client's id
/// the request id and the trace id are the same string. It is returned in the <c>X-Request-Id</c> response header and
/// set as <c>HttpContext.TraceIdentifier</c> (the application services' <c>CallContext</c> carries it). Every log line
/// written while the request runs has a scope with <c>request_id</c> and <c>trace_id</c> (JSON logs show them under
/// <c>Scopes</c>). With <c>logging.log_requests</c>, one access-log line per request: method, path and query, status,
/// duration, response bytes, request id (category <c>Vectorizer.Access</c>, fields named for the JSON format); with
/// <c>logging.log_responses</c>, that line also has the start of the response body.
/// </summary>
public static class AccessLog
{
    public const string Category = "Vectorizer.Access";
    public const string HeaderName = "X-Request-Id";

    /// <summary>How much of a response body <c>log_responses</c> logs.</summary>
    public const int LoggedBodyBytes = 1024;

    /// <summary>
    /// The middleware. <paramref name="scopes"/> opens the request's log scope; <paramref name="logger"/> null: no
    /// access log; <paramref name="logBodies"/>: add the start of JSON and text bodies to it.
    /// </summary>
    public static Func<HttpContext, RequestDelegate, Task> Middleware(ILogger scopes, ILogger? logger, bool logBodies = false) => async (context, next) =>
    {
        var traceId = Activity.Current is { } activity && activity.TraceId != default ? activity.TraceId.ToHexString() : null;
        var id = RequestId(context.Request.Headers[HeaderName], traceId);
        context.TraceIdentifier = id;
        context.Response.OnStarting(static state =>
        {
            var http = (HttpContext)state;
            http.Response.Headers[HeaderName] = http.TraceIdentifier;
            return Task.CompletedTask;
        }, context);
        using var scope = scopes.BeginScope(new RequestScope(id, traceId ?? ""));
        if (logger is null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var start = Stopwatch.GetTimestamp();
        var body = context.Features.Get<IHttpResponseBodyFeature>()!;
        var counter = new CountingStream(body.Stream, logBodies ? LoggedBodyBytes : 0);
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
            var milliseconds = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (logBodies)
            {
                LogWithBody(logger, context, milliseconds, counter, id);
            }
            else
            {
                Log(logger, context, milliseconds, counter.Written, id);
            }
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

    private static void LogWithBody(ILogger logger, HttpContext context, double milliseconds, CountingStream counter, string id)
    {
        var type = context.Response.ContentType ?? "";
        var text = type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) || type.StartsWith("text/", StringComparison.OrdinalIgnoreCase)
            ? counter.CapturedText() + (counter.Written > LoggedBodyBytes ? "…" : "")
            : $"({type})";
        logger.LogInformation(
            "{Method} {Path} {Status} {DurationMs} ms {Bytes} B {RequestId} {Response}",
            context.Request.Method,
            context.Request.Path.Value + context.Request.QueryString.Value,
            context.Response.StatusCode,
            Math.Round(milliseconds, 3),
            counter.Written,
            id,
            text);
    }

    /// <summary>
    /// The client's id when it is 1-128 visible ASCII characters, else <paramref name="traceId"/> (32 hex digits), else
    /// a new random one of the same shape.
    /// </summary>
    public static string RequestId(string? given, string? traceId = null) =>
        given is { Length: > 0 and <= 128 } && given.All(c => c is > ' ' and < (char)127) ? given : traceId ?? Guid.NewGuid().ToString("N");

    /// <summary>The log scope of a request: <c>request_id</c> and <c>trace_id</c> (structured), <c>request_id=… trace_id=…</c> (text).</summary>
    private sealed class RequestScope(string requestId, string traceId) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public int Count => 2;

        public KeyValuePair<string, object?> this[int index] => index switch
        {
            0 => new("request_id", requestId),
            1 => new("trace_id", traceId),
            _ => throw new ArgumentOutOfRangeException(nameof(index)),
        };

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            yield return this[0];
            yield return this[1];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => $"request_id={requestId} trace_id={traceId}";
    }

    /// <summary>Counts what the response writes (the request's body is not counted).</summary>
    private sealed class CountingStream(Stream inner, int capture) : Stream
    {
        private readonly byte[] captured = capture == 0 ? [] : new byte[capture];

        public long Written { get; private set; }

        /// <summary>The start of the body as UTF-8 (a character cut at the end is dropped).</summary>
        public string CapturedText()
        {
            var length = (int)Math.Min(Written, captured.Length);
            var text = System.Text.Encoding.UTF8.GetString(captured, 0, length);
            return text.TrimEnd('\uFFFD');
        }

        private void Capture(ReadOnlySpan<byte> buffer)
        {
            if (Written < captured.Length)
            {
                var take = (int)Math.Min(buffer.Length, captured.Length - Written);
                buffer[..take].CopyTo(captured.AsSpan((int)Written));
            }
        }

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
            Capture(buffer.AsSpan(offset, count));
            Written += count;
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            Capture(buffer);
            Written += buffer.Length;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            Capture(buffer.Span);
            Written += buffer.Length;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
