using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Vectorizer.Server.Application;

namespace Vectorizer.Server.Security;

/// <summary>One collection a token is limited to (Qdrant's <c>{"collection", "access": "r" | "rw"}</c>).</summary>
public readonly record struct CollectionGrant(string Collection, bool Write);

/// <summary>
/// Qdrant's RBAC tokens: HS256 JWTs whose <c>access</c> claim is <c>"r"</c> (read everything), <c>"m"</c> (manage:
/// everything) or a list of <c>{"collection", "access": "r" | "rw"}</c>; <c>exp</c>, when present, must be in the future.
/// Signatures, algorithms and lifetimes are checked by Microsoft.IdentityModel's <see cref="JsonWebTokenHandler"/>
/// (HS256 only: <c>alg: none</c> and every other algorithm are refused); this class only reads the claims.
/// </summary>
public sealed class JwtTokens
{
    public const string Algorithm = SecurityAlgorithms.HmacSha256;

    private readonly JsonWebTokenHandler handler = new() { MapInboundClaims = false };
    private readonly SymmetricSecurityKey key;
    private readonly TokenValidationParameters parameters;

    public JwtTokens(string secret)
    {
        key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret));
        parameters = new TokenValidationParameters
        {
            IssuerSigningKey = key,
            ValidAlgorithms = [Algorithm],
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = true,
            RequireExpirationTime = false,
            ClockSkew = TimeSpan.Zero, // `exp` must be in the future, as the issue and Qdrant's docs say
        };
    }

    /// <summary>A JWS in compact form has three base64url parts; API keys almost never do.</summary>
    public static bool LooksLikeJwt(string credential) => credential.AsSpan().Count('.') == 2;

    /// <summary>The token's access and expiry (null: none), or why it is refused (never echoing the token).</summary>
    public async Task<(Access? Access, string? Failure, DateTimeOffset? Expires)> ValidateAsync(string token)
    {
        TokenValidationResult result;
        try
        {
            result = await handler.ValidateTokenAsync(token, parameters).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenException or FormatException or JsonException)
        {
            return (null, "malformed token", null);
        }

        if (!result.IsValid)
        {
            switch (HeaderAlgorithm(token))
            {
                case null:
                    return (null, "malformed token", null);
                case var alg when alg.Equals("none", StringComparison.OrdinalIgnoreCase):
                    return (null, $"unsigned tokens (alg: none) are refused; sign with {Algorithm}", null);
                case var alg when alg != Algorithm:
                    return (null, $"the token must be signed with {Algorithm}, not {Truncate(alg)}", null);
            }

            return (null, result.Exception switch
            {
                SecurityTokenExpiredException => "the token has expired",
                SecurityTokenNotYetValidException => "the token is not valid yet (nbf)",
                SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => "bad signature",
                SecurityTokenInvalidAlgorithmException => $"the token must be signed with {Algorithm}",
                SecurityTokenInvalidLifetimeException => "invalid lifetime (exp, nbf)",
                _ => "malformed token",
            }, null);
        }

        try
        {
            var jwt = (JsonWebToken)result.SecurityToken;
            var expires = jwt.TryGetPayloadValue<long>("exp", out var exp) ? DateTimeOffset.FromUnixTimeSeconds(exp) : (DateTimeOffset?)null;
            return (ReadAccess(jwt.EncodedPayload), null, expires);
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException or ArgumentOutOfRangeException)
        {
            return (null, e.Message, null);
        }
    }

    /// <summary>Signs a token with <paramref name="access"/> (<c>r</c>, <c>m</c>) or <paramref name="collections"/>, expiring at <paramref name="expires"/> (none: never).</summary>
    public string Create(string? access, IReadOnlyList<CollectionGrant>? collections, DateTimeOffset? expires, DateTimeOffset now)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("iat", now.ToUnixTimeSeconds());
            if (expires is { } exp)
            {
                writer.WriteNumber("exp", exp.ToUnixTimeSeconds());
            }

            if (collections is not null)
            {
                writer.WriteStartArray("access");
                foreach (var grant in collections)
                {
                    writer.WriteStartObject();
                    writer.WriteString("collection", grant.Collection);
                    writer.WriteString("access", grant.Write ? "rw" : "r");
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }
            else
            {
                writer.WriteString("access", access ?? throw new ArgumentNullException(nameof(access)));
            }

            writer.WriteEndObject();
        }

        return handler.CreateToken(Encoding.UTF8.GetString(buffer.WrittenSpan), new SigningCredentials(key, Algorithm));
    }

    /// <summary>Qdrant's <c>access</c> claim as an <see cref="Access"/>; claims this server cannot enforce are refused, not ignored.</summary>
    internal static Access ReadAccess(string encodedPayload)
    {
        using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(encodedPayload));
        var root = payload.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("the payload is not a JSON object");
        }

        if (root.TryGetProperty("value_exists", out _))
        {
            throw new FormatException("the `value_exists` claim is not supported");
        }

        if (!root.TryGetProperty("access", out var access))
        {
            throw new FormatException("the `access` claim is missing (\"r\", \"m\" or a list of {collection, access})");
        }

        if (access.ValueKind == JsonValueKind.String)
        {
            return access.GetString() switch
            {
                "r" => Access.ReadOnly,
                "m" => Access.Full,
                var other => throw new FormatException($"`access` must be \"r\", \"m\" or a list, got \"{Truncate(other)}\""),
            };
        }

        if (access.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("`access` must be \"r\", \"m\" or a list of {collection, access}");
        }

        var grants = new Dictionary<string, AccessLevel>(StringComparer.Ordinal);
        foreach (var item in access.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object
                || !item.TryGetProperty("collection", out var name) || name.ValueKind != JsonValueKind.String || name.GetString() is not { Length: > 0 } collection
                || !item.TryGetProperty("access", out var level) || level.ValueKind != JsonValueKind.String)
            {
                throw new FormatException("each `access` entry must be {\"collection\": name, \"access\": \"r\" | \"rw\"}");
            }

            foreach (var property in item.EnumerateObject())
            {
                if (property.Name is not ("collection" or "access"))
                {
                    throw new FormatException($"`{Truncate(property.Name)}` in an `access` entry is not supported (payload restrictions are not enforced by this server)");
                }
            }

            var granted = level.GetString() switch
            {
                "r" => AccessLevel.Read,
                "rw" => AccessLevel.Write,
                var other => throw new FormatException($"a collection's `access` must be \"r\" or \"rw\", got \"{Truncate(other)}\""),
            };
            grants[collection] = grants.TryGetValue(collection, out var previous) && previous > granted ? previous : granted;
        }

        return Access.ForCollections(grants);
    }

    /// <summary>The header's <c>alg</c>, or null when the header is not a JSON object with one.</summary>
    private static string? HeaderAlgorithm(string token)
    {
        try
        {
            var header = token.AsSpan(0, Math.Max(0, token.IndexOf('.', StringComparison.Ordinal)));
            using var json = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(header.ToString()));
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("alg", out var alg) && alg.ValueKind == JsonValueKind.String
                ? alg.GetString()
                : null;
        }
        catch (Exception e) when (e is FormatException or JsonException or ArgumentException)
        {
            return null;
        }
    }

    private static string Truncate(string? value) => value is null ? "null" : value.Length <= 40 ? value : value[..40] + "…";
}
