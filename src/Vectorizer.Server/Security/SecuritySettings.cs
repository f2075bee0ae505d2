using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Configuration;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Security;

/// <summary>
/// The <c>auth:</c> section (Qdrant's model): a full-access key, a read-only key, and HS256 JWTs carrying Qdrant's
/// claims. Every value can come from the environment: <c>VECTORIZER_API_KEY</c>, <c>VECTORIZER_READ_ONLY_API_KEY</c>,
/// <c>VECTORIZER_JWT_SECRET</c> (or <c>VECTORIZER_AUTH__...</c>).
/// </summary>
public sealed class AuthSection
{
    public bool Enabled { get; set; }

    /// <summary>Full access.</summary>
    [ConfigurationKeyName("api_key")]
    public string ApiKey { get; set; } = "";

    /// <summary>Reads only.</summary>
    [ConfigurationKeyName("read_only_api_key")]
    public string ReadOnlyApiKey { get; set; } = "";

    /// <summary>
    /// Accept JWTs. Unset: JWTs are accepted when <see cref="JwtSecret"/> is set. <c>true</c> with no
    /// <c>jwt_secret</c> signs with <c>api_key</c>, as Qdrant does.
    /// </summary>
    [ConfigurationKeyName("jwt_rbac")]
    public bool? JwtRbac { get; set; }

    /// <summary>The HS256 secret (at least 32 bytes, RFC 7518 §3.2).</summary>
    [ConfigurationKeyName("jwt_secret")]
    public string JwtSecret { get; set; } = "";

    /// <summary>Lifetime in seconds of the tokens <c>vectorizer token create</c> issues without <c>--expires</c>.</summary>
    [ConfigurationKeyName("token_expiry")]
    public int TokenExpiry { get; set; } = 3600;

    /// <summary>Whether JWTs are accepted (and <c>vectorizer token create</c> may mint them).</summary>
    public bool JwtEnabled => JwtRbac ?? JwtSecret.Length > 0;

    /// <summary>The secret JWTs are signed with: <c>jwt_secret</c>, else <c>api_key</c>.</summary>
    public string EffectiveJwtSecret => JwtSecret.Length > 0 ? JwtSecret : ApiKey;

    /// <summary>The key that names the JWT secret in messages.</summary>
    internal string JwtSecretKey => JwtSecret.Length > 0 ? "jwt_secret" : "api_key";
}

/// <summary>The <c>rate_limit:</c> section: a token bucket per credential (per client address when auth is off).</summary>
public sealed class RateLimitSection
{
    public bool Enabled { get; set; }

    /// <summary>Sustained rate: the bucket refills at this many requests a minute.</summary>
    [ConfigurationKeyName("requests_per_minute")]
    public int RequestsPerMinute { get; set; } = 1000;

    /// <summary>The bucket's size: how many requests may arrive at once after a quiet spell.</summary>
    [ConfigurationKeyName("burst_size")]
    public int BurstSize { get; set; } = 100;
}

/// <summary><c>server.tls:</c> PEM files; with them the server speaks HTTPS only.</summary>
public sealed class TlsSection
{
    /// <summary>The certificate (chain) in PEM.</summary>
    [ConfigurationKeyName("cert_path")]
    public string CertPath { get; set; } = "";

    /// <summary>Its private key in PEM (PKCS#8, PKCS#1 or SEC1; not encrypted).</summary>
    [ConfigurationKeyName("key_path")]
    public string KeyPath { get; set; } = "";

    public bool Enabled => CertPath.Length > 0 || KeyPath.Length > 0;

    /// <summary>Loads the certificate with its key (Kestrel needs the key in the certificate's store on some platforms: exported and re-imported).</summary>
    public X509Certificate2 Load()
    {
        using var pem = X509Certificate2.CreateFromPemFile(CertPath, KeyPath);
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}

/// <summary>The <c>security:</c> section.</summary>
public sealed class SecuritySection
{
    /// <summary>
    /// Directories (besides <c>file_watcher.watch_paths</c>) inside which a request may name a path, such as the health
    /// check's <c>root=</c>. Symlinks are followed before the check.
    /// </summary>
    [ConfigurationKeyName("allowed_roots")]
    public List<string> AllowedRoots { get; set; } = [];
}

public sealed class AuthValidator : SectionValidator<AuthSection>
{
    /// <summary>HS256 keys shorter than the hash are refused by RFC 7518 §3.2 (and by Microsoft.IdentityModel).</summary>
    public const int MinJwtSecretBytes = 32;

    public override IEnumerable<(string Key, string Message)> Check(AuthSection s)
    {
        if (s.TokenExpiry < 1)
        {
            yield return ("token_expiry", "must be at least 1 (seconds)");
        }

        if (s.ApiKey.Length > 0 && s.ApiKey == s.ReadOnlyApiKey)
        {
            yield return ("read_only_api_key", "must differ from `api_key` (the same key cannot be both full and read-only)");
        }

        if (s.JwtRbac == false && s.JwtSecret.Length > 0)
        {
            yield return ("jwt_secret", "is set but `jwt_rbac` is false, so no JWT would be accepted: remove one of them");
        }

        if (!s.Enabled)
        {
            yield break;
        }

        if (s.ApiKey.Length == 0 && s.JwtSecret.Length == 0)
        {
            yield return ("api_key", "`auth.enabled` is true but no credential is configured: set `auth.api_key` (VECTORIZER_API_KEY) "
                + "or `auth.jwt_secret` (VECTORIZER_JWT_SECRET)");
            yield break;
        }

        if (s.JwtEnabled && Encoding.UTF8.GetByteCount(s.EffectiveJwtSecret) < MinJwtSecretBytes)
        {
            yield return (s.JwtSecretKey, $"JWTs are signed with HS256, which needs a secret of at least {MinJwtSecretBytes} bytes; "
                + $"this one has {Encoding.UTF8.GetByteCount(s.EffectiveJwtSecret)}" + (s.JwtSecret.Length == 0 ? " (set `jwt_secret`, or a longer `api_key`)" : ""));
        }
    }
}

public sealed class RateLimitValidator : SectionValidator<RateLimitSection>
{
    public override IEnumerable<(string Key, string Message)> Check(RateLimitSection s)
    {
        if (s.RequestsPerMinute is < 1 or > 60_000_000)
        {
            yield return ("requests_per_minute", "must be between 1 and 60000000");
        }

        if (s.BurstSize is < 1 or > 1_000_000)
        {
            yield return ("burst_size", "must be between 1 and 1000000");
        }
    }
}

public sealed class TlsValidator : SectionValidator<TlsSection>
{
    public override IEnumerable<(string Key, string Message)> Check(TlsSection s)
    {
        if (!s.Enabled)
        {
            yield break;
        }

        if (s.CertPath.Length == 0 || s.KeyPath.Length == 0)
        {
            yield return (s.CertPath.Length == 0 ? "cert_path" : "key_path", "give both `cert_path` and `key_path` (PEM files) to serve HTTPS");
            yield break;
        }

        foreach (var (key, path) in new[] { ("cert_path", s.CertPath), ("key_path", s.KeyPath) })
        {
            if (!File.Exists(path))
            {
                yield return (key, $"`{path}` does not exist");
            }
        }

        if (!File.Exists(s.CertPath) || !File.Exists(s.KeyPath))
        {
            yield break;
        }

        string? problem = null;
        try
        {
            using var certificate = s.Load();
            if (certificate.NotAfter < DateTime.Now)
            {
                problem = $"the certificate expired on {certificate.NotAfter:yyyy-MM-dd}";
            }
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            problem = $"cannot load the certificate and key as PEM: {e.Message}";
        }

        if (problem is not null)
        {
            yield return ("cert_path", problem);
        }
    }
}

public sealed class SecurityValidator : SectionValidator<SecuritySection>
{
    public override IEnumerable<(string Key, string Message)> Check(SecuritySection s)
    {
        for (var i = 0; i < s.AllowedRoots.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(s.AllowedRoots[i]))
            {
                yield return ($"allowed_roots[{i}]", "must not be empty");
            }
        }
    }
}
