using Vectorizer.Engine.Collections;

namespace Vectorizer.Server.Application;

/// <summary>
/// Decides which collection answers a call through an alias (canary rollouts and A/B tests, in
/// <c>Vectorizer.Server.Rollouts</c>). <see cref="CollectionsService.Resolve"/> asks it once per call, after the access
/// check, so it must be cheap when nothing is routed.
/// </summary>
public interface IAliasRouter
{
    /// <summary>
    /// The collection that answers <paramref name="call"/> on <paramref name="nameOrAlias"/>, which resolved to
    /// <paramref name="current"/>. A routed read sets <see cref="CallContext.Route"/>, which the transport completes.
    /// </summary>
    Collection Route(CallContext call, string nameOrAlias, Collection current, AccessLevel level);

    /// <summary>
    /// After a write through <paramref name="nameOrAlias"/> went to <paramref name="written"/>: repeats it on the other
    /// side(s) of a rollout when writes are mirrored. Failures there are recorded against that side, never thrown.
    /// </summary>
    ValueTask MirrorWriteAsync(string nameOrAlias, Collection written, Func<Collection, ValueTask> write);
}

/// <summary>
/// A read that a rollout routed: which collection answered, to be completed once by the transport with the outcome
/// (<see cref="Complete"/>), so the rollout's per-side metrics see every routed call.
/// </summary>
public abstract class RouteTicket
{
    /// <summary>The collection the call was sent to.</summary>
    public abstract string Collection { get; }

    /// <summary>Records how many results the read returned (for an experiment's mean results).</summary>
    public abstract void Results(int count);

    /// <summary>Records the outcome; later calls are ignored. <paramref name="failed"/>: a 5xx, a timeout or a refusal by the routed collection.</summary>
    public abstract void Complete(bool failed);
}
