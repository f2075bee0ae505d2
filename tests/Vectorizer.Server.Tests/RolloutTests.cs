using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Vectors;
using Vectorizer.Server.Application;
using Vectorizer.Server.Rollouts;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>Canary rollouts behind an alias: the routing rule, staged advance, automatic rollback, controls, restarts.</summary>
public sealed class RolloutTests(ITestOutputHelper output)
{
    private const string Alias = "docs";
    private const string Old = "docs_v1";
    private const string New = "docs_v2";

    /// <summary>The guide's rule, <c>int(md5(key).hexdigest()[:8], 16) % 100</c>, computed by Python's hashlib for these keys.</summary>
    [Theory]
    [InlineData("user-1", 19)]
    [InlineData("user-2", 12)]
    [InlineData("alice", 70)]
    [InlineData("bob", 20)]
    [InlineData("x", 9)]
    [InlineData("", 93)]
    [InlineData("42", 84)]
    [InlineData("Zoë", 79)]
    [InlineData("user-12345", 4)]
    [InlineData("tenant/7:user/9", 59)]
    public void BucketIsTheGuidesFormula(string key, int expected) => Assert.Equal(expected, RoutingHash.Bucket(key));

    [Fact]
    public void BucketMatchesTheHexFormulaOnManyKeys()
    {
        foreach (var key in Enumerable.Range(0, 10_000).Select(i => $"key-{i}").Append(new string('a', 600)))
        {
#pragma warning disable CA5351 // the guide's routing rule
            var hex = Convert.ToHexString(MD5.HashData(Encoding.UTF8.GetBytes(key)))[..8];
#pragma warning restore CA5351
            Assert.Equal((int)(uint.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture) % 100), RoutingHash.Bucket(key));
        }
    }

    /// <summary>
    /// The guide's stages (5 % for 30 min, 25 % for 60, 50 % for 120, then 100 %) on a fake clock: at each stage 10,000
    /// distinct keys routed through <see cref="CollectionsService.Resolve"/> split within ±2 points of the stage's
    /// percentage, each key always lands on the same side, and the last stage switches the alias.
    /// </summary>
    [Fact]
    public async Task GuideStagesOnAFakeClockSplitKeysAndSwitchTheAlias()
    {
        var dataDir = TestServer.NewDataDir();
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
        using (var manager = CollectionManager.Open(new EngineOptions { DataDir = dataDir }, NullLoggerFactory.Instance))
        {
            foreach (var name in new[] { Old, New })
            {
                manager.Create(name, new CollectionConfig
                {
                    Vectors = new Dictionary<string, VectorParams> { [""] = new VectorParams { Size = 2, Distance = Distance.Dot } },
                });
            }

            manager.UpdateAliases([new CreateAlias(Old, Alias)]);
            using var rollouts = new RolloutService(manager, new RolloutsSection { EvaluationIntervalMs = 60_000 }, NullLoggerFactory.Instance, clock);
            await rollouts.StartAsync(CancellationToken.None);
            var collections = new CollectionsService(manager, rollouts);
            StageSpec[] stages = [new(5, 30, 0.05, null, 0), new(25, 60, 0.02, null, 0), new(50, 120, 0.01, null, 0), new(100, 0, 0.01, null, 0)];
            var deployment = rollouts.StartDeployment(new DeploymentSpec(Alias, New, stages, AutoRollback: true, "header:X-User-Id"));

            var worst = 0.0;
            foreach (var stage in stages.SkipLast(1))
            {
                Assert.Equal(stage.Percentage, deployment.CurrentPercentage);
                var sides = new Dictionary<string, string>();
                for (var i = 0; i < 10_000; i++)
                {
                    var user = $"user-{i}";
                    var call = new CallContext(Access.Full, "test", null, name => name == "X-User-Id" ? user : null);
                    sides[user] = collections.Resolve(call, Alias, AccessLevel.Read).Name;
                    call.Route!.Complete(failed: false);
                }

                var share = 100.0 * sides.Values.Count(s => s == New) / sides.Count;
                worst = Math.Max(worst, Math.Abs(share - stage.Percentage));
                output.WriteLine($"stage {stage.Percentage}%: {share:0.00}% of 10,000 keys to {New}");
                Assert.InRange(share, stage.Percentage - 2, stage.Percentage + 2);

                // The same key, asked again (and in any order), lands on the same side.
                foreach (var (user, side) in sides.Reverse().Take(2_000))
                {
                    var call = new CallContext(Access.Full, "test", null, name => name == "X-User-Id" ? user : null);
                    Assert.Equal(side, collections.Resolve(call, Alias, AccessLevel.Read).Name);
                }

                // Writes and unrouted names go to the alias's collection.
                Assert.Equal(Old, collections.Resolve(new CallContext(Access.Full, "test"), Alias, AccessLevel.Write).Name);
                Assert.Equal(New, collections.Resolve(new CallContext(Access.Full, "test"), New, AccessLevel.Read).Name);

                // Evaluated every minute: not before the stage's duration, and at the first evaluation after it.
                clock.Advance(TimeSpan.FromMinutes(stage.DurationMinutes - 2));
                Assert.Equal(stage.Percentage, deployment.CurrentPercentage);
                clock.Advance(TimeSpan.FromMinutes(3));
                Assert.NotEqual(stage.Percentage, deployment.CurrentPercentage);
            }

            output.WriteLine($"largest split error: {worst:0.00} percentage points");
            Assert.Equal(100, deployment.CurrentPercentage);
            clock.Advance(TimeSpan.FromMinutes(2));
            Assert.Equal(Deployment.Completed, deployment.State);
            Assert.Equal(New, manager.TryGet(Alias)!.Name);
            Assert.Equal(["started", "advanced", "advanced", "advanced", "completed"], deployment.History.Select(h => h.Event));
            Assert.Equal(30_000, deployment.TotalStats[0].Requests + deployment.TotalStats[1].Requests);
            await rollouts.StopAsync(CancellationToken.None);
        }

        TestPaths.TryDelete(dataDir);
    }

    [Fact]
    public async Task StagedRolloutWithShortDurationsEndsWithTheAliasSwitch()
    {
        await using var server = await StartServer();
        await Setup(server);
        var id = await StartDeployment(server, """
            [{"percentage": 20, "duration_minutes": 0.005, "min_requests": 3},
             {"percentage": 60, "duration_minutes": 0.005, "min_requests": 3},
             {"percentage": 100, "duration_minutes": 0, "min_requests": 3}]
            """);
        var state = await DriveUntil(server, id, d => d.GetProperty("state").GetString() != "running", TimeSpan.FromSeconds(60), async (i, answer) =>
        {
            // Routed while the rollout runs; a plain alias (no header) on the new collection once it completed.
            Assert.Equal(200, answer.Status);
            Assert.Contains(answer.Side, new[] { Old, New, null });
            Assert.Equal(answer.Side == Old ? "v1" : "v2", answer.Payload);
            await Task.CompletedTask;
        });

        Assert.Equal("completed", state.GetProperty("state").GetString());
        Assert.Equal(["started", "advanced", "advanced", "completed"], state.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("event").GetString()));
        Assert.Equal(100, state.GetProperty("current_percentage").GetInt32());
        var aliases = (await server.Get("/aliases")).AssertOk().Result.GetProperty("aliases");
        Assert.Contains(aliases.EnumerateArray(), a => a.GetProperty("alias_name").GetString() == Alias && a.GetProperty("collection_name").GetString() == New);

        // After the switch the alias is a plain alias again: no routing header, the new collection answers.
        var after = await Query(server, Alias, "user-1");
        Assert.Equal((200, null, "v2"), (after.Status, after.Side, after.Payload));
    }

    [Fact]
    public async Task AFailingNewCollectionIsRolledBackWithinOneEvaluation()
    {
        const int interval = 200;
        await using var server = await StartServer(interval);
        await Setup(server, newVectors: """{"other": {"size": 4, "distance": "Cosine"}}""");
        var id = await StartDeployment(server, """[{"percentage": 50, "duration_minutes": 10, "error_threshold": 0.1, "min_requests": 5}, {"percentage": 100, "duration_minutes": 10}]""");

        // Concurrent readers until the rollout has failed, and a while after.
        var answers = new List<(long At, Answer Answer)>();
        var failedAt = (long?)null;
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var readers = Enumerable.Range(0, 4).Select(reader => Task.Run(async () =>
        {
            var i = 0;
            while (!stop.IsCancellationRequested)
            {
                var answer = await Query(server, Alias, $"user-{reader}-{i++}");
                lock (answers)
                {
                    answers.Add((clock.ElapsedMilliseconds, answer));
                }
            }
        })).ToList();
        while (!stop.IsCancellationRequested)
        {
            var deployment = (await server.Get($"/api/deployments/{id}")).AssertOk().Result;
            if (deployment.GetProperty("state").GetString() == "failed")
            {
                failedAt ??= clock.ElapsedMilliseconds;
                if (clock.ElapsedMilliseconds > failedAt + 1000)
                {
                    break;
                }
            }

            await Task.Delay(20);
        }

        await stop.CancelAsync();
        await Task.WhenAll(readers);
        Assert.NotNull(failedAt);
        var state = (await server.Get($"/api/deployments/{id}")).AssertOk().Result;
        output.WriteLine(state.ToString());
        Assert.Contains("error rate", state.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, state.GetProperty("current_percentage").GetInt32());

        // Every error came from the new collection itself (its missing vector), none from the rollout machinery.
        var errors = answers.Where(a => a.Answer.Status != 200).ToList();
        Assert.NotEmpty(errors);
        Assert.All(errors, e =>
        {
            Assert.Equal(400, e.Answer.Status);
            Assert.Equal(New, e.Answer.Side);
            Assert.Contains("Not existing vector name", e.Answer.Text, StringComparison.Ordinal);
        });
        Assert.All(answers.Where(a => a.Answer.Status == 200), a => Assert.Equal("v1", a.Answer.Payload));

        // Rolled back within one evaluation period of the 5th error (the stage's min_requests), plus scheduling slack.
        var fifthError = errors.OrderBy(e => e.At).ElementAt(4).At;
        var rolledBack = DateTimeOffset.Parse(state.GetProperty("history")[1].GetProperty("at").GetString()!, CultureInfo.InvariantCulture);
        var started = DateTimeOffset.Parse(state.GetProperty("history")[0].GetProperty("at").GetString()!, CultureInfo.InvariantCulture);
        output.WriteLine($"5th error at {fifthError} ms of the test; rollback {(rolledBack - started).TotalMilliseconds:0} ms after the start");
        Assert.True(failedAt!.Value - fifthError <= interval + 1000, $"rollback seen {failedAt - fifthError} ms after the 5th error");

        // After the rollback every reader is answered by the old collection, through a plain alias again (no routing header).
        var last = answers.Where(a => a.At > failedAt + 200).ToList();
        Assert.NotEmpty(last);
        Assert.All(last, a => Assert.Equal((200, null, "v1"), (a.Answer.Status, a.Answer.Side, a.Answer.Payload)));
    }

    [Fact]
    public async Task PauseResumeRollbackAndPromote()
    {
        await using var server = await StartServer();
        await Setup(server);
        const string stages = """[{"percentage": 50, "duration_minutes": 60}, {"percentage": 100, "duration_minutes": 60}]""";
        var id = await StartDeployment(server, stages);

        // One active rollout per alias; bad plans and unknown ids are refused.
        (await server.Post("/api/deployments", Body(stages))).AssertError(400, "already has an active deployment");
        (await server.Post("/api/deployments", $$"""{"alias": "{{Alias}}", "new_collection": "{{New}}", "stages": [{"percentage": 50, "duration_minutes": 1}]}"""))
            .AssertError(422, "the last stage must be 100");
        (await server.Post("/api/deployments", $$"""{"alias": "{{Old}}", "new_collection": "{{New}}", "stages": [{"percentage": 100, "duration_minutes": 1}]}"""))
            .AssertError(400, "is a collection, not an alias");
        (await server.Post("/api/deployments", $$"""{"alias": "{{Alias}}", "new_collection": "nope", "stages": [{"percentage": 100, "duration_minutes": 1}], "routing_key": "cookie:x"}"""))
            .AssertError(422, "routing_key");
        (await server.Post("/api/deployments", """{"alias": "docs", "stages": 3}""")).AssertError(400, "Format error in JSON body");
        (await server.Get("/api/deployments/d-missing")).AssertError(404, "does not exist");
        (await server.Post($"/api/deployments/{id}/resume", "")).AssertError(400, "it is running");

        var paused = (await server.Post($"/api/deployments/{id}/pause", "")).AssertOk().Result;
        Assert.Equal("paused", paused.GetProperty("state").GetString());
        var frozen = paused.GetProperty("time_in_stage_seconds").GetDouble();
        await Task.Delay(300);
        Assert.Equal(frozen, (await server.Get($"/api/deployments/{id}")).AssertOk().Result.GetProperty("time_in_stage_seconds").GetDouble());

        // Paused holds the stage's split: both sides still answer.
        var sides = new HashSet<string?>();
        for (var i = 0; i < 40; i++)
        {
            sides.Add((await Query(server, Alias, $"u{i}")).Side);
        }

        Assert.Equal([Old, New], sides.Order());
        Assert.Equal("running", (await server.Post($"/api/deployments/{id}/resume", "")).AssertOk().Result.GetProperty("state").GetString());

        var rolledBack = (await server.Post($"/api/deployments/{id}/rollback", "")).AssertOk().Result;
        Assert.Equal(("rolled_back", 0), (rolledBack.GetProperty("state").GetString(), rolledBack.GetProperty("current_percentage").GetInt32()));
        for (var i = 0; i < 20; i++)
        {
            var answer = await Query(server, Alias, $"u{i}");
            Assert.Equal((200, null, "v1"), (answer.Status, answer.Side, answer.Payload));
        }

        (await server.Post($"/api/deployments/{id}/promote", "")).AssertError(400, "it is rolled_back");

        var second = await StartDeployment(server, stages);
        var promoted = (await server.Post($"/api/deployments/{second}/promote", "")).AssertOk().Result;
        Assert.Equal("completed", promoted.GetProperty("state").GetString());
        Assert.Equal("promoted", promoted.GetProperty("history").EnumerateArray().Last().GetProperty("event").GetString());
        Assert.Equal("v2", (await Query(server, Alias, "u1")).Payload);

        var list = (await server.Get("/api/deployments")).AssertOk().Result;
        Assert.Equal([id, second], list.EnumerateArray().Select(d => d.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task ARestartMidRolloutResumesItWithItsCounters()
    {
        var dataDir = TestServer.NewDataDir();
        string id;
        long requests;
        await using (var server = await StartServer(dataDir: dataDir))
        {
            await Setup(server);
            id = await StartDeployment(server, """[{"percentage": 30, "duration_minutes": 60}, {"percentage": 100, "duration_minutes": 60}]""");
            for (var i = 0; i < 30; i++)
            {
                Assert.Equal(200, (await Query(server, Alias, $"user-{i}")).Status);
            }

            var before = (await server.Get($"/api/deployments/{id}")).AssertOk().Result;
            requests = Requests(before);
            Assert.Equal(30, requests);
            (await server.Post($"/api/deployments/{id}/pause", "")).AssertOk();
            (await server.Post($"/api/deployments/{id}/resume", "")).AssertOk();
        }

        await using (var server = await StartServer(dataDir: dataDir))
        {
            var after = (await server.Get($"/api/deployments/{id}")).AssertOk().Result;
            Assert.Equal(("running", 1, 30), (after.GetProperty("state").GetString(), after.GetProperty("current_stage").GetInt32(), after.GetProperty("current_percentage").GetInt32()));
            Assert.Equal(requests, Requests(after));
            Assert.Equal(["started", "paused", "resumed"], after.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("event").GetString()));

            // Routing resumes: the same users see the same sides as before.
            var sides = new HashSet<string?>();
            for (var i = 0; i < 30; i++)
            {
                sides.Add((await Query(server, Alias, $"user-{i}")).Side);
            }

            Assert.Equal([Old, New], sides.Order());
            Assert.Equal(requests + 30, Requests((await server.Get($"/api/deployments/{id}")).AssertOk().Result));
        }

        TestPaths.TryDelete(dataDir);
    }

    [Fact]
    public async Task WritesThroughTheAliasGoToBothSides()
    {
        await using var server = await StartServer();
        await Setup(server);
        await StartDeployment(server, """[{"percentage": 10, "duration_minutes": 60}, {"percentage": 100, "duration_minutes": 60}]""");
        (await server.Put($"/collections/{Alias}/points?wait=true", """{"points": [{"id": 7, "vector": [0, 1, 0, 0], "payload": {"side": "both"}}]}""")).AssertOk();
        foreach (var collection in new[] { Old, New })
        {
            Assert.Equal("both", (await server.Get($"/collections/{collection}/points/7")).AssertOk().Result.GetProperty("payload").GetProperty("side").GetString());
        }
    }

    [Fact]
    public async Task WithWriteModeCurrentOnlyTheAliasCollectionIsWritten()
    {
        await using var server = await StartServer(configure: s => s.Rollouts.WriteMode = "current");
        await Setup(server);
        await StartDeployment(server, """[{"percentage": 10, "duration_minutes": 60}, {"percentage": 100, "duration_minutes": 60}]""");
        (await server.Put($"/collections/{Alias}/points?wait=true", """{"points": [{"id": 7, "vector": [0, 1, 0, 0]}]}""")).AssertOk();
        (await server.Get($"/collections/{Old}/points/7")).AssertOk();
        (await server.Get($"/collections/{New}/points/7")).AssertError(404, "does not exists");
    }

    [Fact]
    public void BadRolloutSettingsAreRefusedNamingTheKey()
    {
        var settings = new Configuration.VectorizerSettings();
        settings.Rollouts.WriteMode = "sometimes";
        settings.Rollouts.EvaluationIntervalMs = 0;
        var problems = Configuration.ConfigLoader.Validate(settings).Select(p => p.ToString()).ToList();
        Assert.Contains(problems, p => p.Contains("rollouts.write_mode", StringComparison.Ordinal) && p.Contains("both, current", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("rollouts.evaluation_interval_ms", StringComparison.Ordinal));
    }

    // ------------------------------------------------------------------ helpers

    internal sealed record Answer(int Status, string? Side, string? Payload, string Text);

    internal static Task<TestServer> StartServer(int intervalMs = 50, string? dataDir = null, Action<Configuration.VectorizerSettings>? configure = null) =>
        TestServer.StartAsync(
            settings =>
            {
                settings.Rollouts.EvaluationIntervalMs = intervalMs;
                configure?.Invoke(settings);
            },
            dataDir);

    /// <summary><c>docs_v1</c> (payload side v1) and <c>docs_v2</c> (v2), the alias <c>docs</c> on v1.</summary>
    internal static async Task Setup(TestServer server, string? newVectors = null, string old = Old, string @new = New, string alias = Alias)
    {
        await server.CreateCollection(old);
        (await server.Put($"/collections/{@new}", $$$"""{"vectors": {{{newVectors ?? """{"size": 4, "distance": "Cosine"}"""}}}}""")).AssertOk();
        foreach (var (collection, side, vector) in new[] { (old, "v1", "[1, 0, 0, 0]"), (@new, "v2", newVectors is null ? "[1, 0, 0, 0]" : """{"other": [1, 0, 0, 0]}""") })
        {
            (await server.Put($"/collections/{collection}/points?wait=true", $$$"""{"points": [{"id": 1, "vector": {{{vector}}}, "payload": {"side": "{{{side}}}"}}]}""")).AssertOk();
        }

        (await server.Post("/collections/aliases", $$$"""{"actions": [{"create_alias": {"collection_name": "{{{old}}}", "alias_name": "{{{alias}}}"}}]}""")).AssertOk();
    }

    private static string Body(string stages) =>
        $$"""{"alias": "{{Alias}}", "new_collection": "{{New}}", "stages": {{stages}}, "auto_rollback": true, "routing_key": "header:X-User-Id"}""";

    private static async Task<string> StartDeployment(TestServer server, string stages)
    {
        var result = (await server.Post("/api/deployments", Body(stages))).AssertOk().Result;
        Assert.Equal("running", result.GetProperty("state").GetString());
        return result.GetProperty("id").GetString()!;
    }

    private static long Requests(JsonElement deployment)
    {
        var total = deployment.GetProperty("total_metrics");
        return total.GetProperty("old").GetProperty("requests").GetInt64() + total.GetProperty("new").GetProperty("requests").GetInt64();
    }

    /// <summary>A query through <paramref name="alias"/> as <paramref name="user"/> (the <c>X-User-Id</c> header).</summary>
    internal static async Task<Answer> Query(TestServer server, string alias, string? user)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/collections/{alias}/points/query")
        {
            Content = new StringContent("""{"query": [1, 0, 0, 0], "limit": 1, "with_payload": true}""", Encoding.UTF8),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (user is not null)
        {
            request.Headers.Add("X-User-Id", user);
        }

        using var response = await server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var side = response.Headers.TryGetValues(RolloutsApi.CollectionHeader, out var values) ? values.Single() : null;
        string? payload = null;
        if (response.IsSuccessStatusCode)
        {
            var points = JsonDocument.Parse(text).RootElement.GetProperty("result").GetProperty("points");
            payload = points.GetArrayLength() > 0 ? points[0].GetProperty("payload").GetProperty("side").GetString() : null;
        }

        return new Answer((int)response.StatusCode, side, payload, text);
    }

    private static async Task<JsonElement> DriveUntil(TestServer server, string id, Func<JsonElement, bool> done, TimeSpan timeout, Func<int, Answer, Task> check)
    {
        var clock = Stopwatch.StartNew();
        for (var i = 0; ; i++)
        {
            await check(i, await Query(server, Alias, $"user-{i}"));
            if (i % 10 == 0)
            {
                var state = (await server.Get($"/api/deployments/{id}")).AssertOk().Result;
                if (done(state))
                {
                    return state;
                }

                Assert.True(clock.Elapsed < timeout, "rollout did not finish in time: " + state);
            }
        }
    }
}
