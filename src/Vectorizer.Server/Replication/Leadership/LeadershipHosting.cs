using Microsoft.Extensions.Hosting;

namespace Vectorizer.Server.Replication.Leadership;

/// <summary>
/// Runs <see cref="EtcdLeadership"/> in the host (<c>replication.role: auto</c>): started once the engine has loaded
/// (the node's position is known then), and on a graceful stop it resigns — stops taking writes and revokes its lease,
/// so the peers elect a new master at once instead of after <c>lease_ttl_secs</c>.
/// </summary>
public sealed class LeadershipService(EtcdLeadership leadership) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await leadership.RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await leadership.ResignAsync(cancellationToken).ConfigureAwait(false);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }
}
