using System.Text.Json;
using Vectorizer.Server.Rollouts;

namespace Vectorizer.Server.Tests;

/// <summary>A/B tests behind an alias: routing by splits, injected click events, the z-test, stop and promote.</summary>
public sealed class ExperimentTests
{
    [Fact]
    public void TwoProportionZTestMatchesAHandComputation()
    {
        // 20 of 200 against 40 of 200: pooled p = 0.15, se = √(0.15·0.85·(1/200 + 1/200)) = 0.0357071,
        // z = 0.1 / se = 2.8005602, p = erfc(z/√2) = 0.0051014 (Python: math.erfc(2.8005601680560193 / math.sqrt(2))).
        var test = Statistics.TwoProportion(20, 200, 40, 200)!;
        Assert.Equal(0.1, test.Difference, 12);
        Assert.Equal(2.8005601680560193, test.Z!.Value, 9);
        Assert.Equal(0.005101399646004991, test.PValue!.Value, 9);
        Assert.Equal(0.030704808782516108, test.Low, 9);
        Assert.Equal(0.1692951912174839, test.High, 9);
        Assert.Null(Statistics.TwoProportion(0, 0, 1, 2));
        Assert.Null(Statistics.TwoProportion(0, 10, 0, 10)!.PValue);
    }

    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(0.3, 0.6713732405408726)]
    [InlineData(1.0, 0.15729920705028513)]
    [InlineData(2.5, 0.0004069520174449589)]
    [InlineData(5.0, 1.5374597944280351e-12)]
    [InlineData(-1.0, 1.842700792949715)]
    public void ErfcMatchesPythonsMathErfc(double x, double expected) =>
        Assert.True(Math.Abs(Statistics.Erfc(x) - expected) <= expected * 1e-12, $"erfc({x}) = {Statistics.Erfc(x)}, expected {expected}");

    [Fact]
    public async Task ClicksPerArmGiveCountsRatesAndTheHandComputedPValue()
    {
        await using var server = await RolloutTests.StartServer();
        await RolloutTests.Setup(server);
        var created = (await server.Post("/api/experiments", """
            {"name": "ranking", "alias": "docs", "control": "docs_v1", "variants": ["docs_v2"], "traffic_splits": [0.5, 0.5],
             "routing_key": "header:X-User-Id", "metrics": ["latency", "results_count", "clicks"]}
            """)).AssertOk().Result;
        var id = created.GetProperty("id").GetString()!;

        // 200 users on each arm (by the guide's hash: buckets 0-49 control, 50-99 variant), one query each.
        var users = Enumerable.Range(0, 2_000).Select(i => $"user-{i}").ToList();
        var control = users.Where(u => RoutingHash.Bucket(u) < 50).Take(200).ToList();
        var variant = users.Where(u => RoutingHash.Bucket(u) >= 50).Take(200).ToList();
        foreach (var (group, side, payload) in new[] { (control, "docs_v1", "v1"), (variant, "docs_v2", "v2") })
        {
            foreach (var user in group)
            {
                var answer = await RolloutTests.Query(server, "docs", user);
                Assert.Equal((200, side, payload), (answer.Status, answer.Side, answer.Payload));
            }
        }

        // Clicks: 20 control users, 40 variant users.
        foreach (var user in control.Take(20).Concat(variant.Take(40)))
        {
            var arm = (await server.Post($"/api/experiments/{id}/events", $$"""{"routing_key": "{{user}}", "event": "click", "value": 1}""")).AssertOk().Result;
            Assert.Equal(control.Contains(user) ? "docs_v1" : "docs_v2", arm.GetProperty("arm").GetString());
        }

        (await server.Post($"/api/experiments/{id}/events", """{"routing_key": "u", "event": "purchase"}""")).AssertError(400, "does not track `purchase`");
        (await server.Post($"/api/experiments/{id}/events", """{"routing_key": "u", "event": "no spaces"}""")).AssertError(422, "not an event name");
        (await server.Post("/api/experiments/e-missing/events", """{"routing_key": "u", "event": "click"}""")).AssertError(404, "does not exist");

        var report = (await server.Get($"/api/experiments/{id}")).AssertOk().Result;
        var arms = report.GetProperty("arms");
        AssertArm(arms[0], "docs_v1", "control", requests: 200, clicks: 20, rate: 0.1);
        AssertArm(arms[1], "docs_v2", "variant", requests: 200, clicks: 40, rate: 0.2);
        var test = arms[1].GetProperty("events").GetProperty("click").GetProperty("vs_control");
        Assert.Equal(0.005101, test.GetProperty("p_value").GetDouble(), 6);
        Assert.Equal(2.80056, test.GetProperty("z").GetDouble(), 5);
        Assert.Equal(0.1, test.GetProperty("difference").GetDouble(), 9);
        Assert.False(arms[0].GetProperty("events").GetProperty("click").TryGetProperty("vs_control", out _));

        // Promote the variant: the alias switches and the experiment ends.
        (await server.Post($"/api/experiments/{id}/promote", """{"arm": "elsewhere"}""")).AssertError(400, "is not an arm");
        var promoted = (await server.Post($"/api/experiments/{id}/promote", """{"arm": "docs_v2"}""")).AssertOk().Result;
        Assert.Equal(("promoted", "docs_v2"), (promoted.GetProperty("state").GetString(), promoted.GetProperty("promoted_arm").GetString()));
        var after = await RolloutTests.Query(server, "docs", control[0]);
        Assert.Equal((200, null, "v2"), (after.Status, after.Side, after.Payload));
        (await server.Post($"/api/experiments/{id}/stop", "")).AssertError(400, "is promoted");
    }

    [Fact]
    public async Task StoppingAnExperimentSendsEverythingBackToTheControl()
    {
        await using var server = await RolloutTests.StartServer();
        await RolloutTests.Setup(server);
        (await server.Post("/api/experiments", """{"name": "x", "alias": "docs", "control": "docs_v2", "variants": ["docs_v1"]}"""))
            .AssertError(400, "the control must be the alias's collection");
        (await server.Post("/api/experiments", """{"name": "x", "alias": "docs", "control": "docs_v1", "variants": ["docs_v2"], "traffic_splits": [0.5, 0.4]}"""))
            .AssertError(422, "must sum to 1");
        (await server.Post("/api/experiments", """{"name": "x", "alias": "docs", "control": "docs_v1", "variants": ["docs_v2"], "traffic_splits": [0.505, 0.495]}"""))
            .AssertError(422, "whole percent");
        var id = (await server.Post("/api/experiments", """{"name": "x", "alias": "docs", "control": "docs_v1", "variants": ["docs_v2"], "metrics": ["clicks"]}"""))
            .AssertOk().Result.GetProperty("id").GetString();
        (await server.Post("/api/deployments", """{"alias": "docs", "new_collection": "docs_v2", "stages": [{"percentage": 100, "duration_minutes": 1}]}"""))
            .AssertError(400, "already has an active experiment");

        var sides = new HashSet<string?>();
        for (var i = 0; i < 40; i++)
        {
            sides.Add((await RolloutTests.Query(server, "docs", null)).Side); // routing_key "request": each request by its id
        }

        Assert.Equal(["docs_v1", "docs_v2"], sides.Order());
        var stopped = (await server.Post($"/api/experiments/{id}/stop", "")).AssertOk().Result;
        Assert.Equal("stopped", stopped.GetProperty("state").GetString());
        Assert.Equal(40, stopped.GetProperty("arms").EnumerateArray().Sum(a => a.GetProperty("requests").GetInt64()));
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("v1", (await RolloutTests.Query(server, "docs", null)).Payload);
        }

        var list = (await server.Get("/api/experiments")).AssertOk().Result;
        Assert.Equal(id, list[0].GetProperty("id").GetString());
    }

    private static void AssertArm(JsonElement arm, string collection, string role, long requests, long clicks, double rate)
    {
        Assert.Equal(collection, arm.GetProperty("collection").GetString());
        Assert.Equal(role, arm.GetProperty("role").GetString());
        Assert.Equal(requests, arm.GetProperty("requests").GetInt64());
        Assert.Equal(0, arm.GetProperty("errors").GetInt64());
        Assert.Equal(1.0, arm.GetProperty("mean_results").GetDouble());
        Assert.True(arm.GetProperty("p50_ms").GetDouble() > 0);
        Assert.True(arm.GetProperty("p99_ms").GetDouble() >= arm.GetProperty("p50_ms").GetDouble());
        var click = arm.GetProperty("events").GetProperty("click");
        Assert.Equal(clicks, click.GetProperty("count").GetInt64());
        Assert.Equal(clicks, click.GetProperty("sum").GetDouble());
        Assert.Equal(rate, click.GetProperty("rate").GetDouble(), 9);
    }
}
