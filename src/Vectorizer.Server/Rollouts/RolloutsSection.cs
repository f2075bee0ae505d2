using Microsoft.Extensions.Configuration;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Rollouts;

/// <summary>The <c>rollouts:</c> section: how canary deployments and experiments behave server-wide.</summary>
public sealed class RolloutsSection
{
    /// <summary>
    /// Where a write through an alias under a rollout or experiment goes: <c>both</c> (the default) applies it to the
    /// alias's current collection, answers from there, then repeats it on the new collection (every arm, for an
    /// experiment), so the collection that takes over has every write; <c>current</c> writes only the current collection.
    /// </summary>
    [ConfigurationKeyName("write_mode")]
    public string WriteMode { get; set; } = "both";

    /// <summary>How often running rollouts are checked (stage advance, thresholds) and their counters saved.</summary>
    [ConfigurationKeyName("evaluation_interval_ms")]
    public int EvaluationIntervalMs { get; set; } = 1000;

    public bool MirrorWrites => WriteMode == "both";
}

public sealed class RolloutsValidator : SectionValidator<RolloutsSection>
{
    public override IEnumerable<(string Key, string Message)> Check(RolloutsSection s)
    {
        if (s.WriteMode is not ("both" or "current"))
        {
            yield return ("write_mode", $"`{s.WriteMode}` is not one of both, current");
        }

        if (s.EvaluationIntervalMs is < 10 or > 3_600_000)
        {
            yield return ("evaluation_interval_ms", $"{s.EvaluationIntervalMs} is outside 10-3600000");
        }
    }
}
