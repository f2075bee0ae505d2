using System.Net.Http.Headers;
using System.Text;
using Microsoft.IdentityModel.Tokens;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Tests;

/// <summary>Keys, tokens and requests with credentials for the security tests.</summary>
internal static class Secure
{
    public const string FullKey = "full-key-7f3c9a1e5b2d4c6a8e0f1a2b3c4d5e6f";
    public const string ReadKey = "read-key-0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    public const string JwtSecret = "jwt-secret-5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b";
    public const string WrongKey = "full-key-7f3c9a1e5b2d4c6a8e0f1a2b3c4d5e6X";

    /// <summary>Authentication on with both keys and JWTs.</summary>
    public static void Configure(VectorizerSettings settings)
    {
        settings.Auth.Enabled = true;
        settings.Auth.ApiKey = FullKey;
        settings.Auth.ReadOnlyApiKey = ReadKey;
        settings.Auth.JwtSecret = JwtSecret;
    }

    public static JwtTokens Tokens { get; } = new(JwtSecret);

    public static string Token(string access, TimeSpan? lifetime = null) =>
        Tokens.Create(access, null, DateTimeOffset.UtcNow + (lifetime ?? TimeSpan.FromHours(1)), DateTimeOffset.UtcNow);

    public static string Token(params CollectionGrant[] grants) =>
        Tokens.Create(null, grants, DateTimeOffset.UtcNow.AddHours(1), DateTimeOffset.UtcNow);

    /// <summary>A token with any payload, signed with <paramref name="secret"/> by HS256 (or unsigned with <c>alg: none</c>).</summary>
    public static string Handmade(string payloadJson, string? secret = JwtSecret, string alg = "HS256")
    {
        var header = Base64UrlEncoder.Encode($$"""{"alg":"{{alg}}","typ":"JWT"}""");
        var payload = Base64UrlEncoder.Encode(payloadJson);
        if (secret is null)
        {
            return $"{header}.{payload}.";
        }

        var data = Encoding.ASCII.GetBytes($"{header}.{payload}");
        var key = Encoding.UTF8.GetBytes(secret);
        var signature = alg switch
        {
            "HS384" => System.Security.Cryptography.HMACSHA384.HashData(key, data),
            "HS512" => System.Security.Cryptography.HMACSHA512.HashData(key, data),
            _ => System.Security.Cryptography.HMACSHA256.HashData(key, data),
        };
        return $"{header}.{payload}.{Base64UrlEncoder.Encode(signature)}";
    }

    /// <summary>Sends with the credential in the <c>api-key</c> header, or as <c>Authorization: Bearer</c>.</summary>
    public static async Task<ApiResponse> Send(this HttpClient client, HttpMethod method, string path, string? json, string? credential, bool bearer = false)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        if (credential is not null)
        {
            if (bearer)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential);
            }
            else
            {
                request.Headers.TryAddWithoutValidation(Authenticator.ApiKeyHeader, credential);
            }
        }

        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        System.Text.Json.JsonElement body = default;
        if (text.Length > 0 && response.Content.Headers.ContentType?.MediaType == "application/json")
        {
            body = System.Text.Json.JsonDocument.Parse(text).RootElement.Clone();
        }

        return new ApiResponse((int)response.StatusCode, body, text)
        {
            WwwAuthenticate = response.Headers.WwwAuthenticate.ToString(),
            RetryAfter = response.Headers.RetryAfter?.Delta,
        };
    }

    public static Task<ApiResponse> Get(this HttpClient client, string path, string? credential, bool bearer = false) =>
        client.Send(HttpMethod.Get, path, null, credential, bearer);

    public static Task<ApiResponse> Post(this HttpClient client, string path, string json, string? credential) =>
        client.Send(HttpMethod.Post, path, json, credential);

    public static Task<ApiResponse> Put(this HttpClient client, string path, string json, string? credential) =>
        client.Send(HttpMethod.Put, path, json, credential);

    public static Task<ApiResponse> Delete(this HttpClient client, string path, string? credential) =>
        client.Send(HttpMethod.Delete, path, null, credential);
}
