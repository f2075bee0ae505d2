using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Vectorizer.Server.Tests;

/// <summary>
/// A small OpenAI-compatible chat-completions server on a real socket, for HyDE (no LLM can run on these machines):
/// <c>POST /v1/chat/completions</c> answers deterministically, in OpenAI's format, with the passage the test gave for
/// the user's question (else "A passage about: {question}"). It counts requests, can fail the next requests with a
/// status, and delays the questions the test names. The server under test reaches it through its real path
/// (Microsoft.Extensions.AI's IChatClient over the OpenAI SDK, our HttpClient and retry pipeline).
/// </summary>
public sealed class ChatServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentDictionary<string, string> answers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TimeSpan> delays = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> questions = new();
    private int failuresLeft;
    private int failureStatus;
    private int requests;

    private ChatServer(WebApplication app) => this.app = app;

    /// <summary>The base URL to configure as <c>llm.base_url</c> (ends with <c>/v1</c>).</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>Chat requests received, failed ones included.</summary>
    public int Requests => Volatile.Read(ref requests);

    /// <summary>The user questions of the requests received, in order.</summary>
    public IReadOnlyList<string> Questions => [.. questions];

    public static async Task<ChatServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new ChatServer(app);
        app.MapPost("/v1/chat/completions", (Func<HttpContext, Task<IResult>>)server.CompleteAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = address.TrimEnd('/') + "/v1";
        return server;
    }

    /// <summary>The passage answered to <paramref name="question"/>.</summary>
    public void Answer(string question, string passage) => answers[question] = passage;

    /// <summary>Requests with <paramref name="question"/> wait <paramref name="delay"/> before answering.</summary>
    public void Delay(string question, TimeSpan delay) => delays[question] = delay;

    /// <summary>The next <paramref name="count"/> requests answer <paramref name="status"/>.</summary>
    public void FailNext(int status, int count)
    {
        failureStatus = status;
        Volatile.Write(ref failuresLeft, count);
    }

    private async Task<IResult> CompleteAsync(HttpContext context)
    {
        Interlocked.Increment(ref requests);
        using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        var model = body.RootElement.GetProperty("model").GetString();
        var question = body.RootElement.GetProperty("messages").EnumerateArray()
            .Where(m => m.GetProperty("role").GetString() == "user")
            .Select(Content)
            .LastOrDefault() ?? "";
        questions.Enqueue(question);
        if (Interlocked.Decrement(ref failuresLeft) >= 0)
        {
            return Results.Json(new { error = new { message = "forced failure", type = "server_error" } }, statusCode: failureStatus);
        }

        if (delays.TryGetValue(question, out var delay))
        {
            await Task.Delay(delay, context.RequestAborted);
        }

        var passage = answers.TryGetValue(question, out var known) ? known : "A passage about: " + question;
        return Results.Json(new Dictionary<string, object?>
        {
            ["id"] = "chatcmpl-test",
            ["object"] = "chat.completion",
            ["created"] = 1_700_000_000,
            ["model"] = model,
            ["choices"] = new[]
            {
                new Dictionary<string, object?>
                {
                    ["index"] = 0,
                    ["message"] = new Dictionary<string, object?> { ["role"] = "assistant", ["content"] = passage, ["refusal"] = null },
                    ["logprobs"] = null,
                    ["finish_reason"] = "stop",
                },
            },
            ["usage"] = new { prompt_tokens = question.Length / 4, completion_tokens = passage.Length / 4, total_tokens = (question.Length + passage.Length) / 4 },
        });
    }

    /// <summary>A message's text: a string, or the text parts of an array.</summary>
    private static string Content(JsonElement message)
    {
        var content = message.GetProperty("content");
        return content.ValueKind == JsonValueKind.String
            ? content.GetString()!
            : string.Concat(content.EnumerateArray().Where(p => p.TryGetProperty("text", out _)).Select(p => p.GetProperty("text").GetString()));
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
