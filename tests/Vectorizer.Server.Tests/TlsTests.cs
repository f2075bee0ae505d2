using System.Diagnostics;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Tests;

/// <summary><c>server.tls</c>: HTTPS only, with a self-signed certificate made for the test, checked by .NET and by curl.</summary>
public sealed class TlsTests
{
    [SkippableFact]
    public async Task ServesHttpsOnlyWithThePemCertificate()
    {
        var dir = TestPaths.NewDirectory("tls-");
        using var certificate = SelfSigned();
        var certPath = Path.Combine(dir, "cert.pem");
        var keyPath = Path.Combine(dir, "key.pem");
        await File.WriteAllTextAsync(certPath, certificate.ExportCertificatePem());
        using (var key = certificate.GetECDsaPrivateKey()!)
        {
            await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());
        }

        await using var server = await TestServer.StartAsync(s =>
        {
            Secure.Configure(s);
            s.Server.Tls.CertPath = certPath;
            s.Server.Tls.KeyPath = keyPath;
        });
        Assert.StartsWith("https://127.0.0.1:", server.Url, StringComparison.Ordinal);

        using var trusting = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, presented, _, errors) => Trusts(certificate, presented, errors) },
        })
        { BaseAddress = new Uri(server.Url) };
        (await trusting.Put("/collections/secure", """{"vectors": {"size": 2, "distance": "Dot"}}""", Secure.FullKey)).AssertOk();
        (await trusting.Get("/collections/secure", null)).AssertError(401, "Must provide");
        Assert.Equal(200, (await trusting.Get("/healthz", null)).Status);

        // A client that does not trust the certificate stops at the handshake; plain HTTP gets nothing served.
        using (var untrusting = new HttpClient { BaseAddress = new Uri(server.Url) })
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => untrusting.GetAsync("/healthz"));
        }

        using (var plain = new HttpClient { BaseAddress = new Uri(server.Url.Replace("https://", "http://", StringComparison.Ordinal)), Timeout = TimeSpan.FromSeconds(10) })
        {
            try
            {
                using var response = await plain.GetAsync("/healthz");
                Assert.NotEqual(System.Net.HttpStatusCode.OK, response.StatusCode);
            }
            catch (HttpRequestException)
            {
                // The connection is closed: also fine.
            }
        }

        Prerequisites.Require(Need.Curl);
        var (code, output) = await Curl("-sS", "--fail-with-body", "--cacert", certPath, "-H", "api-key: " + Secure.ReadKey, server.Url + "/collections/secure");
        Assert.True(code == 0, output);
        Assert.Contains("\"status\":\"ok\"", output.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        (code, output) = await Curl("-sS", server.Url + "/healthz"); // without --cacert curl refuses the certificate
        Assert.NotEqual(0, code);
        TestPaths.TryDelete(dir);
    }

    [Fact]
    public async Task ABadCertificateStopsTheServerNamingTheKey()
    {
        var dir = TestPaths.NewDirectory("tls-bad-");
        var certPath = Path.Combine(dir, "cert.pem");
        var keyPath = Path.Combine(dir, "key.pem");
        await File.WriteAllTextAsync(certPath, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
        await File.WriteAllTextAsync(keyPath, "nothing");
        var issues = ConfigLoader.ValidateYaml($"server:\n  tls:\n    cert_path: {certPath}\n    key_path: {keyPath}\n");
        Assert.Contains(issues, i => i.Key == "server.tls.cert_path" && i.Message.Contains("cannot load", StringComparison.Ordinal) && i.Line == 3);
        TestPaths.TryDelete(dir);
    }

    /// <summary>A P-256 certificate for localhost and 127.0.0.1, valid for a day.</summary>
    internal static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>Trusts <paramref name="root"/> only, and still checks the name.</summary>
    private static bool Trusts(X509Certificate2 root, X509Certificate? presented, SslPolicyErrors errors)
    {
        if (presented is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(presented);
        return chain.Build(leaf);
    }

    private static async Task<(int Code, string Output)> Curl(params string[] arguments)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (process.ExitCode, await stdout + await stderr);
    }
}
