using Vectorizer.Ingestion.Health;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Application;

/// <summary>
/// The health check for a caller: reading needs read access (a collection-scoped caller names one of its collections;
/// <c>all</c> needs global read), <c>fix</c> needs manage; a <c>root</c> the caller names must lie inside the allowed
/// directories (<see cref="AllowedPaths"/>), and the check reads the resolved path.
/// </summary>
public sealed class HealthChecks(CollectionsService collections, HealthCheckService health, AllowedPaths paths)
{
    public Task<HealthReport> RunAsync(CallContext call, HealthCheckRequest request, CancellationToken cancellationToken)
    {
        var level = request.Fix ? AccessLevel.Manage : AccessLevel.Read;
        if (request.Collection is null or HealthCheckService.AllCollections)
        {
            call.Access.Demand(level, null);
        }
        else
        {
            request = request with { Collection = collections.Resolve(call, request.Collection, level).Name };
        }

        if (request.Root is { } root)
        {
            request = request with { Root = paths.Confine(root, "root") };
        }

        return health.RunAsync(collections.Manager, request, cancellationToken);
    }
}
