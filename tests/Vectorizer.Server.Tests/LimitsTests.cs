using System.Net;
using System.Text;

namespace Vectorizer.Server.Tests;

/// <summary><c>rate_limit</c> (429 per credential or client address) and <c>limits.max_concurrent_requests</c> (503), on a real server.</summary>
public sealed class LimitsTests
{
    [Fact]
    [Trait("Category", "Slow")]
    public async Task RateLimitRefusesTwiceTheBurstAndRecovers()
    {
        // 60 a minute = one a second, burst 10: of 20 requests sent at once about 10 pass.
        await using var server = await TestServer.StartAsync(s =>
        {
            Secure.Configure(s);
            s.RateLimit.Enabled = true;
            s.RateLimit.RequestsPerMinute = 60;
            s.RateLimit.BurstSize = 10;
        });
        var c = server.Client;
        var responses = new List<ApiResponse>();
        for (var i = 0; i < 20; i++)
        {
            responses.Add(await c.Get("/collections", Secure.FullKey));
        }

        var refused = responses.Where(r => r.Status == 429).ToList();
        Assert.InRange(refused.Count, 8, 10);
        Assert.Equal(20 - refused.Count, responses.Count(r => r.Status == 200));
        var first = refused[0];
        first.AssertError(429, "Too many requests");
        Assert.Contains("rate_limit", first.Error, StringComparison.Ordinal);
        Assert.InRange(first.RetryAfter!.Value.TotalSeconds, 1, 60);

        // Another credential has its own bucket; probes are never limited.
        (await c.Get("/collections", Secure.ReadKey)).AssertOk();
        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(200, (await c.Get("/healthz", null)).Status);
        }

        // After Retry-After the credential may call again.
        await Task.Delay(first.RetryAfter.Value + TimeSpan.FromMilliseconds(200));
        (await c.Get("/collections", Secure.FullKey)).AssertOk();
    }

    [Fact]
    public async Task WithoutAuthTheClientAddressIsTheBucket()
    {
        await using var server = await TestServer.StartAsync(s =>
        {
            s.RateLimit.Enabled = true;
            s.RateLimit.RequestsPerMinute = 1;
            s.RateLimit.BurstSize = 2;
        });
        var statuses = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            // Whatever key is sent, the address is what counts when auth is off.
            statuses.Add((await server.Client.Get("/collections", "key-" + i)).Status);
        }

        Assert.Equal([200, 200, 429, 429], statuses);
    }

    /// <summary>One request holds the only slot (its body never finishes); the next waits in the queue, the one after gets 503.</summary>
    [Fact]
    public async Task ConcurrencyCapQueuesThenRefuses()
    {
        await using var server = await TestServer.StartAsync(s =>
        {
            s.Limits.MaxConcurrentRequests = 1;
            s.Limits.QueueLimit = 1;
        });
        await server.CreateCollection("c", size: 2);
        using var holder = new HeldBody();
        using var client = new HttpClient { BaseAddress = new Uri(server.Url) };
        var held = client.PostAsync("/collections/c/points/count", holder);
        await holder.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(200); // the server has the headers and holds the slot

        var queued = server.Client.GetAsync("/collections/c");
        await Task.Delay(200);
        Assert.False(queued.IsCompleted, "the second request should wait in the queue");
        var refused = await server.Client.Get("/collections/c", null);
        refused.AssertError(503, "limits.max_concurrent_requests");
        Assert.Equal(TimeSpan.FromSeconds(1), refused.RetryAfter);
        Assert.Equal(200, (await server.Client.Get("/healthz", null)).Status); // probes are not counted

        holder.Release();
        using (var response = await held)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using (var response = await queued)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    /// <summary>A body that sends <c>{</c>, then waits for <see cref="Release"/> before sending the rest.</summary>
    private sealed class HeldBody : HttpContent
    {
        private readonly TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public HeldBody()
        {
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        public void Release() => release.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes("{"));
            await stream.FlushAsync();
            Started.TrySetResult();
            await release.Task;
            await stream.WriteAsync(Encoding.ASCII.GetBytes("}"));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
