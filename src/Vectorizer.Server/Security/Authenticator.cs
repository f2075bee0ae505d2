using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Security;

/// <summary>What a request's credential turned out to be.</summary>
public enum CredentialKind
{
    /// <summary>Authentication is off: every caller has full access.</summary>
    NotRequired,

    /// <summary>No credential was sent.</summary>
    Missing,

    /// <summary>A credential was sent and is not valid (wrong key, expired or wrongly signed token, garbage).</summary>
    Invalid,

    /// <summary>A valid key or token.</summary>
    Valid,
}

/// <summary>
/// The outcome of <see cref="Authenticator.Authenticate(string?, string?)"/>: the caller's <see cref="Access"/> when
/// valid, a message safe to return when not (it never contains the credential), and <see cref="Principal"/>, a short
/// hash of a valid credential that identifies the caller without revealing it (rate-limit partitions, logs).
/// </summary>
public readonly record struct AuthResult(CredentialKind Kind, Access? Access, string? Failure, string? Principal)
{
    public static AuthResult NotRequired { get; } = new(CredentialKind.NotRequired, Access.Full, null, null);

    public static AuthResult Missing { get; } = new(CredentialKind.Missing, null, "Must provide an API key or an Authorization bearer token", null);

    public static AuthResult Invalid(string reason) => new(CredentialKind.Invalid, null, reason, null);

    public bool IsValid => Access is not null;
}

/// <summary>
/// Turns a credential into an <see cref="Access"/>: the one implementation behind every transport (the REST middleware,
/// and a gRPC interceptor or the MCP transport call the same method with their headers or metadata). Credentials arrive
/// as Qdrant's clients send them: the <c>api-key</c> header or <c>Authorization: Bearer …</c>, each holding an API key
/// or a JWT. Keys are compared in constant time (over their SHA-256, so that the length does not leak either).
/// </summary>
public sealed class Authenticator
{
    public const string ApiKeyHeader = "api-key";
    public const string AuthorizationHeader = "Authorization";

    /// <summary>How many validated tokens are remembered.</summary>
    public const int MaxCachedTokens = 10_000;

    private readonly byte[]? fullKeyHash;
    private readonly byte[]? readOnlyKeyHash;
    private readonly JwtTokens? jwt;

    /// <summary>
    /// Tokens already validated, by their exact text, with their expiry: clients send the same token with every request,
    /// and validating it again costs more than a key comparison (see bench/results/auth-cost-*). Bounded by
    /// <see cref="MaxCachedTokens"/> (cleared when full); an entry is used only before its token's <c>exp</c>.
    /// </summary>
    private readonly ConcurrentDictionary<string, (Access Access, DateTimeOffset? Expires)> validTokens = new(StringComparer.Ordinal);

    public Authenticator(VectorizerSettings settings)
        : this(settings.Auth)
    {
    }

    public Authenticator(AuthSection auth)
    {
        Enabled = auth.Enabled;
        fullKeyHash = auth.ApiKey.Length > 0 ? Hash(auth.ApiKey) : null;
        readOnlyKeyHash = auth.ReadOnlyApiKey.Length > 0 ? Hash(auth.ReadOnlyApiKey) : null;
        jwt = auth.JwtEnabled && auth.EffectiveJwtSecret.Length > 0 ? new JwtTokens(auth.EffectiveJwtSecret) : null;
    }

    /// <summary>False when <c>auth.enabled</c> is false: every call has <see cref="Access.Full"/>.</summary>
    public bool Enabled { get; }

    /// <summary>Authenticates with a header lookup (REST headers, gRPC metadata; case-insensitive names).</summary>
    public ValueTask<AuthResult> AuthenticateAsync(Func<string, string?> header) =>
        AuthenticateAsync(header(ApiKeyHeader), header(AuthorizationHeader));

    /// <summary>Authenticates the values of the <c>api-key</c> and <c>Authorization</c> headers (either may be null).</summary>
    public async ValueTask<AuthResult> AuthenticateAsync(string? apiKey, string? authorization)
    {
        if (!Enabled)
        {
            return AuthResult.NotRequired;
        }

        string credential;
        if (!string.IsNullOrEmpty(apiKey))
        {
            credential = apiKey.Trim();
        }
        else if (!string.IsNullOrEmpty(authorization))
        {
            var space = authorization.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || !authorization[..space].Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            {
                return AuthResult.Invalid("Unsupported Authorization scheme: send `Authorization: Bearer <API key or JWT>` or the `api-key` header");
            }

            credential = authorization[(space + 1)..].Trim();
        }
        else
        {
            return AuthResult.Missing;
        }

        if (credential.Length == 0)
        {
            return AuthResult.Missing;
        }

        // Both keys are compared every time, so the time taken does not tell which one (if any) matched.
        var hash = Hash(credential);
        var isFull = fullKeyHash is not null && CryptographicOperations.FixedTimeEquals(hash, fullKeyHash);
        var isReadOnly = readOnlyKeyHash is not null && CryptographicOperations.FixedTimeEquals(hash, readOnlyKeyHash);
        if (isFull || isReadOnly)
        {
            return new AuthResult(CredentialKind.Valid, isFull ? Access.Full : Access.ReadOnly, null, Principal(hash));
        }

        if (jwt is not null && JwtTokens.LooksLikeJwt(credential))
        {
            if (validTokens.TryGetValue(credential, out var cached))
            {
                if (cached.Expires is not { } expiry || DateTimeOffset.UtcNow < expiry)
                {
                    return new AuthResult(CredentialKind.Valid, cached.Access, null, Principal(hash));
                }

                validTokens.TryRemove(credential, out _);
            }

            var (access, failure, expires) = await jwt.ValidateAsync(credential).ConfigureAwait(false);
            if (access is null)
            {
                return AuthResult.Invalid("Invalid JWT: " + failure);
            }

            if (validTokens.Count >= MaxCachedTokens)
            {
                validTokens.Clear();
            }

            validTokens[credential] = (access, expires);
            return new AuthResult(CredentialKind.Valid, access, null, Principal(hash));
        }

        return AuthResult.Invalid("Invalid API key or JWT");
    }

    private static byte[] Hash(string credential) => SHA256.HashData(Encoding.UTF8.GetBytes(credential));

    /// <summary>The first 64 bits of the credential's SHA-256, in hex: names a caller without revealing the credential.</summary>
    private static string Principal(byte[] hash) => Convert.ToHexStringLower(hash.AsSpan(0, 8));
}
