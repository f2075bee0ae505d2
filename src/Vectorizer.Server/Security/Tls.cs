using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Security;

public static class Tls
{
    /// <summary>With <c>server.tls</c>, the listener speaks HTTPS only (Kestrel's TLS, the PEM files loaded once at start).</summary>
    public static void UseVectorizerTls(this ListenOptions listen, VectorizerSettings settings)
    {
        if (settings.Server.Tls.Enabled)
        {
            listen.UseHttps(settings.Server.Tls.Load());
        }
    }
}
