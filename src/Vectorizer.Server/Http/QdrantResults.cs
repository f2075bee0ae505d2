using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Vectorizer.Server.Http;

/// <summary>
/// Qdrant's response envelope: <c>{"result": …, "status": "ok", "time": seconds}</c>, and for errors
/// <c>{"status": {"error": "…"}, "time": seconds}</c>. Written straight to the response pipe.
/// </summary>
public static class QdrantResults
{
    private const string StartKey = "vectorizer.start";
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        SkipValidation = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void MarkStart(HttpContext context) => context.Items[StartKey] = Stopwatch.GetTimestamp();

    public static double Elapsed(HttpContext context) =>
        context.Items.TryGetValue(StartKey, out var start) && start is long timestamp
            ? Stopwatch.GetElapsedTime(timestamp).TotalSeconds
            : 0;

    public static IResult Ok(Action<Utf8JsonWriter> writeResult) => new EnvelopeResult(writeResult);

    public static IResult Ok(bool value) => new EnvelopeResult(w => w.WriteBooleanValue(value));

    public static async Task WriteError(HttpContext context, int statusCode, string message)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        var writer = new Utf8JsonWriter(context.Response.BodyWriter, WriterOptions);
        await using (writer.ConfigureAwait(false))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("status");
            writer.WriteString("error", message);
            writer.WriteEndObject();
            writer.WriteNumber("time", Elapsed(context));
            writer.WriteEndObject();
            await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Serialises into a buffer first, so a failure while writing can still become a clean error response
    /// instead of half a JSON document.
    /// </summary>
    private sealed class EnvelopeResult(Action<Utf8JsonWriter> writeResult) : IResult
    {
        [ThreadStatic]
        private static ArrayBufferWriter<byte>? cachedBuffer;

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var buffer = cachedBuffer ?? new ArrayBufferWriter<byte>(4096);
            cachedBuffer = null;
            buffer.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            {
                writer.WriteStartObject();
                writer.WritePropertyName("result");
                writeResult(writer);
                writer.WriteString("status", "ok");
                writer.WriteNumber("time", Elapsed(httpContext));
                writer.WriteEndObject();
            }

            httpContext.Response.StatusCode = StatusCodes.Status200OK;
            httpContext.Response.ContentType = "application/json";
            httpContext.Response.ContentLength = buffer.WrittenCount;
            await httpContext.Response.BodyWriter.WriteAsync(buffer.WrittenMemory, httpContext.RequestAborted).ConfigureAwait(false);
            if (buffer.Capacity <= 1 << 20)
            {
                cachedBuffer = buffer;
            }
        }
    }
}
