using ModelContextProtocol.Client;

namespace Vectorizer.Server.Tests;

/// <summary>MCP reads through an alias under a rollout are routed and counted for the side that answered, like REST.</summary>
public class RolloutMcpTests
{
    [Fact]
    public async Task McpSearchesThroughACanariedAliasAreRoutedAndCounted()
    {
        await using var server = await RolloutTests.StartServer();
        await RolloutTests.Setup(server);
        var started = (await server.Post("/api/deployments", """
            {"alias": "docs", "new_collection": "docs_v2", "routing_key": "request",
             "stages": [{"percentage": 50, "duration_minutes": 60}, {"percentage": 100, "duration_minutes": 60}]}
            """)).AssertOk().Result;
        var id = started.GetProperty("id").GetString()!;

        await using var client = await McpSupport.ConnectAsync(server.Url);
        var sides = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 40; i++)
        {
            var found = (await client.CallToolAsync("search", new Dictionary<string, object?> { ["collection"] = "docs", ["vector"] = new[] { 1f, 0, 0, 0 }, ["limit"] = 1, ["with_payload"] = true }))
                .Ok("search");
            sides.Add(found.GetProperty("points")[0].GetProperty("payload").GetProperty("side").GetString()!);
        }

        // Each request id hashes on its own: 40 searches at 50 % reach both sides (a miss has odds of 2^-39).
        Assert.Equal(["v1", "v2"], sides.Order(StringComparer.Ordinal));
        var deployment = (await server.Get($"/api/deployments/{id}")).AssertOk().Result;
        var total = deployment.GetProperty("total_metrics");
        Assert.Equal(40, total.GetProperty("old").GetProperty("requests").GetInt64() + total.GetProperty("new").GetProperty("requests").GetInt64());
    }
}
