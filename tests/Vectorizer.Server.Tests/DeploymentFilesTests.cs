using System.Text.RegularExpressions;
using Vectorizer.Server.Configuration;
using YamlDotNet.RepresentationModel;

namespace Vectorizer.Server.Tests;

/// <summary>
/// The Dockerfile, docker-compose.yml, Kubernetes manifests, systemd unit and packaged config.yml agree with the
/// server: their configuration passes the server's own validation, and their ports, probe paths and data paths are
/// the ones it uses (probes checked against a running server). No image is built here; <c>.ci/run</c> installs the
/// .deb for real.
/// </summary>
public sealed partial class DeploymentFilesTests
{
    private static readonly string Root = VectorizerProcess.RepositoryRoot();

    private static VectorizerSettings PackagedSettings() => ConfigLoader.Load(Path.Combine(Root, "packaging", "config.yml"), new Dictionary<string, string?>()).Settings;

    /// <summary>The deployment files' probes send no credential: they must answer with authentication on too.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ProbePathsAnswerOnARunningServer(bool auth)
    {
        await using var server = await TestServer.StartAsync(settings =>
        {
            if (auth)
            {
                Secure.Configure(settings);
            }
        });
        foreach (var path in ProbePaths())
        {
            var response = await server.Get(path);
            Assert.True(response.Status == 200, $"{path} (auth {auth}): {response.Status} {response.Text}");
        }
    }

    /// <summary>Every HTTP path a deployment file probes.</summary>
    private static IEnumerable<string> ProbePaths()
    {
        yield return DockerHealthcheckPath();
        foreach (var (_, service) in ComposeVectorizerServices())
        {
            yield return ComposeHealthcheckPath(service);
        }

        var container = KubernetesContainer();
        yield return Scalar(container, "livenessProbe", "httpGet", "path");
        yield return Scalar(container, "readinessProbe", "httpGet", "path");
    }

    [Fact]
    public void PackagedConfigIsValidAndUsesTheDebianDataDirectory()
    {
        var settings = PackagedSettings();
        Assert.Equal("/var/lib/vectorizer", settings.Server.DataDir);
        Assert.Equal(15002, settings.Server.Port);
        Assert.Empty(ConfigLoader.Validate(settings));
    }

    [Fact]
    public void SystemdUnitRunsThePackagedBinaryHardened()
    {
        var unit = File.ReadAllLines(Path.Combine(Root, "packaging", "vectorizer.service"))
            .Where(l => l.Contains('=', StringComparison.Ordinal) && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2)).GroupBy(kv => kv[0]).ToDictionary(g => g.Key, g => g.Last()[1]);
        Assert.Equal("/usr/bin/vectorizer serve --config /etc/vectorizer/config.yml", unit["ExecStart"]);
        Assert.Equal("vectorizer", unit["User"]);
        Assert.Equal("strict", unit["ProtectSystem"]);
        Assert.Equal(PackagedSettings().Server.DataDir, unit["ReadWritePaths"]);
        Assert.Equal("true", unit["NoNewPrivileges"]);
        Assert.Equal("on-failure", unit["Restart"]);
        Assert.Equal("SIGTERM", unit["KillSignal"]);
        Assert.True(int.Parse(unit["LimitNOFILE"], System.Globalization.CultureInfo.InvariantCulture) >= 65536);
        Assert.True(int.Parse(unit["TimeoutStopSec"], System.Globalization.CultureInfo.InvariantCulture) >= 60);
        var package = File.ReadAllText(Path.Combine(Root, "scripts", "package.sh"));
        Assert.Contains("\"$root/etc/vectorizer/config.yml\"", package, StringComparison.Ordinal);
        Assert.Contains("echo \"/etc/vectorizer/config.yml\" > \"$root/DEBIAN/conffiles\"", package, StringComparison.Ordinal);
        Assert.Contains("install -d -m 0750 -o vectorizer -g vectorizer /var/lib/vectorizer", File.ReadAllText(Path.Combine(Root, "packaging", "debian", "postinst")), StringComparison.Ordinal);
    }

    [Fact]
    public void DockerfileIsMultiStageNonRootWithTheServersPortAndDataVolume()
    {
        var lines = File.ReadAllLines(Path.Combine(Root, "Dockerfile")).Select(l => l.Trim()).ToList();
        Assert.True(lines.Count(l => l.StartsWith("FROM ", StringComparison.Ordinal)) >= 2, "multi-stage");
        Assert.Contains(lines, l => l.StartsWith("COPY --from=build ", StringComparison.Ordinal));
        var user = lines.Last(l => l.StartsWith("USER ", StringComparison.Ordinal))[5..].Trim();
        Assert.NotEqual("root", user);
        Assert.NotEqual("0", user);
        var settings = PackagedSettings();
        Assert.Equal($"EXPOSE {settings.Server.Port}", lines.Single(l => l.StartsWith("EXPOSE ", StringComparison.Ordinal)));
        Assert.Equal($"VOLUME [\"{settings.Server.DataDir}\"]", lines.Single(l => l.StartsWith("VOLUME ", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l == "COPY packaging/config.yml /etc/vectorizer/config.yml");
        Assert.Contains(lines, l => l.Contains($"127.0.0.1:{settings.Server.Port}/", StringComparison.Ordinal) && l.StartsWith("CMD curl", StringComparison.Ordinal));
        // Its environment is configuration the server accepts.
        var environment = EnvironmentOf(lines);
        Assert.Equal("/etc/vectorizer/config.yml", environment[ConfigLoader.ConfigEnvironmentVariable]);
        var loaded = ConfigLoader.Load(Path.Combine(Root, "packaging", "config.yml"), environment);
        Assert.Equal("0.0.0.0", loaded.Settings.Server.Host);
    }

    [Fact]
    public void ComposeServicesUseTheServersPortDataPathAndValidEnvironment()
    {
        var services = ComposeVectorizerServices().ToList();
        Assert.Equal(["vectorizer", "vectorizer-personal"], services.Select(s => s.Name).Order(StringComparer.Ordinal));
        var settings = PackagedSettings();
        foreach (var (name, service) in services)
        {
            var profiles = ((YamlSequenceNode)service["profiles"]).Select(p => ((YamlScalarNode)p).Value).ToList();
            Assert.Equal(name == "vectorizer" ? "production" : "personal-use", Assert.Single(profiles));
            var ports = ((YamlSequenceNode)service["ports"]).Select(p => ((YamlScalarNode)p).Value!).ToList();
            Assert.All(ports, p => Assert.EndsWith($":{settings.Server.Port}", p, StringComparison.Ordinal));
            var volumes = ((YamlSequenceNode)service["volumes"]).Select(v => ((YamlScalarNode)v).Value!).ToList();
            Assert.Contains($"vectorizer-data:{settings.Server.DataDir}", volumes);
            var environment = ((YamlMappingNode)service["environment"]).ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value);
            environment["VECTORIZER_HOST"] = "0.0.0.0"; // the image's
            var loaded = ConfigLoader.Load(Path.Combine(Root, "packaging", "config.yml"), environment); // throws on a bad key or value
            Assert.Equal(settings.Server.Port, loaded.Settings.Server.Port);
        }

        var prometheus = File.ReadAllText(Path.Combine(Root, "monitoring", "prometheus", "prometheus.yml"));
        Assert.Contains($"targets: [\"vectorizer:{settings.Server.Port}\"]", prometheus, StringComparison.Ordinal);
    }

    [Fact]
    public void KubernetesManifestsAgreeWithTheServer()
    {
        var documents = KubernetesDocuments();
        var configMap = documents.Single(d => Scalar(d, "kind") == "ConfigMap");
        var yaml = Scalar(configMap, "data", "config.yml");

        // Valid but for the credential, which comes from the Secret through the environment (checked below).
        var issue = Assert.Single(ConfigLoader.ValidateYaml(yaml));
        Assert.Contains("no credential is configured", issue.ToString(), StringComparison.Ordinal);
        var path = TestPaths.NewPath("k8s-config-") + ".yml";
        File.WriteAllText(path, yaml);
        var container = KubernetesContainer();

        // Authentication is on, with the keys from the Secret `vectorizer-auth` (vectorizer-auth.yaml is its template):
        // the config is refused without them and accepted with them.
        var secret = KubernetesDocuments("vectorizer-auth.yaml").Single(d => Scalar(d, "kind") == "Secret");
        var secretKeys = ((YamlMappingNode)secret["stringData"]).Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value);
        Assert.All(secretKeys.Values, v => Assert.Equal("", v)); // a template: no key is committed
        var fromSecret = ((YamlSequenceNode)container["env"]).Cast<YamlMappingNode>()
            .Where(e => e.Children.ContainsKey("valueFrom"))
            .ToDictionary(e => Scalar(e, "name"), e => (Name: Scalar(e, "valueFrom", "secretKeyRef", "name"), Key: Scalar(e, "valueFrom", "secretKeyRef", "key")));
        Assert.Equal(("vectorizer-auth", "api-key"), fromSecret["VECTORIZER_API_KEY"]);
        Assert.Equal(("vectorizer-auth", "read-only-api-key"), fromSecret["VECTORIZER_READ_ONLY_API_KEY"]);
        Assert.All(fromSecret.Values, r => Assert.Equal(Scalar(secret, "metadata", "name"), r.Name));
        Assert.All(fromSecret.Values, r => Assert.Contains(r.Key, secretKeys.Keys));
        VectorizerSettings settings;
        try
        {
            var refused = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path, new Dictionary<string, string?>()));
            Assert.Contains("no credential is configured", refused.Message, StringComparison.Ordinal);
            var environment = new Dictionary<string, string?> { ["VECTORIZER_API_KEY"] = "k8s-full-key-0123456789", ["VECTORIZER_READ_ONLY_API_KEY"] = "k8s-read-key-0123456789" };
            settings = ConfigLoader.Load(path, environment).Settings;
        }
        finally
        {
            File.Delete(path);
        }

        Assert.True(settings.Auth.Enabled);
        Assert.Equal("k8s-full-key-0123456789", settings.Auth.ApiKey);
        Assert.Equal("k8s-read-key-0123456789", settings.Auth.ReadOnlyApiKey);
        var statefulSet = documents.Single(d => Scalar(d, "kind") == "StatefulSet");
        var port = (YamlMappingNode)((YamlSequenceNode)container["ports"])[0];
        Assert.Equal(settings.Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Scalar(port, "containerPort"));
        Assert.Equal("/livez", Scalar(container, "livenessProbe", "httpGet", "path"));
        Assert.Equal("/readyz", Scalar(container, "readinessProbe", "httpGet", "path"));
        var mounts = ((YamlSequenceNode)container["volumeMounts"]).Cast<YamlMappingNode>().ToDictionary(m => Scalar(m, "name"), m => Scalar(m, "mountPath"));
        Assert.Equal(settings.Server.DataDir, mounts["data"]);
        Assert.Equal("/etc/vectorizer", mounts["config"]);
        Assert.Equal(["serve", "--config", "/etc/vectorizer/config.yml"], ((YamlSequenceNode)container["args"]).Select(a => ((YamlScalarNode)a).Value));
        Assert.Equal("data", Scalar((YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)statefulSet["spec"])["volumeClaimTemplates"])[0], "metadata", "name"));
        Assert.Equal("1", Scalar(statefulSet, "spec", "replicas"));
        Assert.Equal("true", Scalar(statefulSet, "spec", "template", "spec", "securityContext", "runAsNonRoot"));
        Assert.Equal("false", Scalar(container, "securityContext", "allowPrivilegeEscalation"));
        Assert.NotEmpty(Scalar(container, "resources", "limits", "memory"));
        var service = documents.Single(d => Scalar(d, "kind") == "Service");
        Assert.Equal(settings.Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Scalar((YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)service["spec"])["ports"])[0], "port"));
        Assert.True(int.Parse(Scalar(statefulSet, "spec", "template", "spec", "terminationGracePeriodSeconds"), System.Globalization.CultureInfo.InvariantCulture) > settings.Server.ShutdownDelaySeconds + 30);
    }

    private static string DockerHealthcheckPath()
    {
        var line = File.ReadAllLines(Path.Combine(Root, "Dockerfile")).Single(l => l.TrimStart().StartsWith("CMD curl", StringComparison.Ordinal));
        return new Uri(UrlIn().Match(line).Value).AbsolutePath;
    }

    private static string ComposeHealthcheckPath(YamlMappingNode service)
    {
        var test = ((YamlSequenceNode)((YamlMappingNode)service["healthcheck"])["test"]).Select(t => ((YamlScalarNode)t).Value!).ToList();
        return new Uri(test.Single(t => t.StartsWith("http", StringComparison.Ordinal))).AbsolutePath;
    }

    /// <summary>The compose services that run Vectorizer, with the anchor's keys merged in.</summary>
    private static IEnumerable<(string Name, YamlMappingNode Service)> ComposeVectorizerServices()
    {
        var yaml = new YamlStream();
        using (var reader = new StringReader(File.ReadAllText(Path.Combine(Root, "docker-compose.yml"))))
        {
            yaml.Load(new YamlDotNet.Core.MergingParser(new YamlDotNet.Core.Parser(reader)));
        }

        var services = (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["services"];
        foreach (var (key, value) in services)
        {
            var service = (YamlMappingNode)value;
            if (service.Children.TryGetValue("image", out var image) && ((YamlScalarNode)image).Value!.StartsWith("vectorizer", StringComparison.Ordinal))
            {
                yield return (((YamlScalarNode)key).Value!, service);
            }
        }
    }

    private static List<YamlMappingNode> KubernetesDocuments(string file = "vectorizer.yaml")
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(Path.Combine(Root, "packaging", "kubernetes", file))));
        return [.. yaml.Documents.Select(d => (YamlMappingNode)d.RootNode)];
    }

    private static YamlMappingNode KubernetesContainer()
    {
        var statefulSet = KubernetesDocuments().Single(d => Scalar(d, "kind") == "StatefulSet");
        var containers = (YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)statefulSet["spec"])["template"])["spec"]))["containers"];
        return (YamlMappingNode)containers.Single();
    }

    private static string Scalar(YamlMappingNode node, params string[] path)
    {
        YamlNode current = node;
        foreach (var key in path)
        {
            current = ((YamlMappingNode)current)[key];
        }

        return ((YamlScalarNode)current).Value!;
    }

    /// <summary>ENV instructions (one or several <c>KEY=value</c> pairs, continued lines joined).</summary>
    private static Dictionary<string, string?> EnvironmentOf(List<string> lines)
    {
        var text = string.Join('\n', lines).Replace("\\\n", " ", StringComparison.Ordinal);
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n').Where(l => l.StartsWith("ENV ", StringComparison.Ordinal)))
        {
            foreach (Match pair in EnvPair().Matches(line[4..]))
            {
                environment[pair.Groups[1].Value] = pair.Groups[2].Value;
            }
        }

        return environment;
    }

    [GeneratedRegex(@"([A-Z_][A-Z0-9_]*)=(\S+)")]
    private static partial Regex EnvPair();

    [GeneratedRegex(@"https?://\S+")]
    private static partial Regex UrlIn();
}
