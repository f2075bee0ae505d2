using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Api.Qdrant.Json;

namespace Vectorizer.Server.Http;

/// <summary>A request body parsed as JSON, size-limited. Dispose it when done.</summary>
internal sealed class JsonBody : IDisposable
{
    /// <summary>How much of an oversized body is read and discarded so that the client gets the 413.</summary>
    private const long DrainAllowance = 64L << 20;

    private static readonly JsonDocumentOptions ParseOptions = new() { MaxDepth = 64 };
    private readonly JsonDocument document;

    private JsonBody(JsonDocument document)
    {
        this.document = document;
    }

    public JsonInput Root => JsonInput.Root(document.RootElement);

    /// <summary>
    /// Reads the whole body (at most <paramref name="maxBytes"/>) and parses it. An empty body is an error
    /// unless <paramref name="emptyAsObject"/>, where it reads as <c>{}</c> (endpoints whose fields are all optional).
    /// </summary>
    public static async Task<JsonBody> ReadAsync(HttpContext context, long maxBytes, bool emptyAsObject = false)
    {
        // Kestrel's own limit would abort the connection mid-upload, and a client still sending never sees
        // the 413. Allow a bounded overshoot that is read and discarded, so the error reaches the client.
        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = maxBytes + DrainAllowance;
        }

        var reader = context.Request.BodyReader;
        if (context.Request.ContentLength is { } declared && declared > maxBytes)
        {
            await DrainAsync(reader, context.RequestAborted).ConfigureAwait(false);
            throw TooLarge(declared, maxBytes);
        }

        while (true)
        {
            var read = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            var buffer = read.Buffer;
            if (buffer.Length > maxBytes)
            {
                var seen = buffer.Length;
                reader.AdvanceTo(buffer.End);
                seen += await DrainAsync(reader, context.RequestAborted).ConfigureAwait(false);
                throw TooLarge(seen, maxBytes);
            }

            if (!read.IsCompleted)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            // Copy out of the pipe: the document keeps referencing its input.
            var bytes = buffer.ToArray();
            reader.AdvanceTo(buffer.End);
            if (bytes.Length == 0 || IsWhiteSpace(bytes))
            {
                if (emptyAsObject)
                {
                    return new JsonBody(JsonDocument.Parse("{}"u8.ToArray()));
                }

                throw new ApiException(ApiErrorCode.MalformedBody, "EOF while parsing a value at line 1 column 0");
            }

            RequireUtf8(bytes);
            try
            {
                return new JsonBody(JsonDocument.Parse(bytes, ParseOptions));
            }
            catch (JsonException e)
            {
                throw new ApiException(ApiErrorCode.MalformedBody, Describe(e), e);
            }
        }
    }

    /// <summary>Reads and discards the rest of the body, up to <see cref="DrainAllowance"/> bytes.</summary>
    private static async Task<long> DrainAsync(System.IO.Pipelines.PipeReader reader, CancellationToken cancellation)
    {
        long drained = 0;
        try
        {
            while (drained <= DrainAllowance)
            {
                var read = await reader.ReadAsync(cancellation).ConfigureAwait(false);
                drained += read.Buffer.Length;
                reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (BadHttpRequestException)
        {
            // Past the allowance: Kestrel closes the connection after the response.
        }

        return drained;
    }

    /// <summary>
    /// JSON text is UTF-8 (RFC 8259): a body with an invalid sequence (say <c>FF FE</c> inside a string) is refused, as
    /// Qdrant does, instead of being stored with replacement characters.
    /// </summary>
    private static void RequireUtf8(byte[] bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return;
        }

        var chars = new char[bytes.Length];
        System.Text.Unicode.Utf8.ToUtf16(bytes, chars, out var valid, out _, replaceInvalidSequences: false);
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < valid; i++)
        {
            if (bytes[i] == (byte)'\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        throw new ApiException(ApiErrorCode.MalformedBody, $"invalid UTF-8 sequence at line {line} column {valid - lineStart + 1}");
    }

    private static bool IsWhiteSpace(byte[] bytes)
    {
        foreach (var b in bytes)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return false;
            }
        }

        return true;
    }

    private static ApiException TooLarge(long size, long limit) =>
        new(ApiErrorCode.RequestTooLarge, $"JSON payload ({size} bytes) is larger than allowed (limit: {limit} bytes).");

    private static string Describe(JsonException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut > 0)
        {
            message = message[..cut];
        }

        return e.LineNumber is { } line && e.BytePositionInLine is { } column
            ? $"{message.TrimEnd()} at line {line + 1} column {column + 1}"
            : message;
    }

    public void Dispose() => document.Dispose();
}
