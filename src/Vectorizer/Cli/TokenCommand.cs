using System.CommandLine;
using System.Globalization;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Security;

namespace Vectorizer.Cli;

/// <summary>
/// <c>vectorizer token create --access r|m [--collection C[:r|rw]]... [--expires 1h]</c>: prints a JWT signed with the
/// configured secret (<c>auth.jwt_secret</c>, else <c>auth.api_key</c>; the same configuration file and environment as
/// the server), alone on standard output so that <c>TOKEN=$(vectorizer token create ...)</c> works.
/// </summary>
internal static class TokenCommand
{
    private static readonly Option<string?> ConfigOption = new("--config", "-c") { Description = "Path to config.yml (default: $VECTORIZER_CONFIG, else ./config.yml when present)" };
    private static readonly Option<string?> AccessOption = new("--access") { Description = "r (read everything) or m (manage: everything); with --collection, the default access of each collection (r, or rw for m)" };
    private static readonly Option<string[]> CollectionOption = new("--collection") { Description = "Limit the token to this collection, C:r (read) or C:rw (read and write); repeat for several", AllowMultipleArgumentsPerToken = false };
    private static readonly Option<string?> ExpiresOption = new("--expires") { Description = "Lifetime: 90s, 30m, 1h, 7d, or never (default: auth.token_expiry seconds)" };

    public static Command Create()
    {
        var token = new Command("token", "Mint access tokens (JWTs) for a server with auth.jwt_rbac");
        var create = new Command("create", "Print a signed JWT with Qdrant's claims (access r, m, or per collection)");
        create.Add(ConfigOption);
        create.Add(AccessOption);
        create.Add(CollectionOption);
        create.Add(ExpiresOption);
        create.SetAction(Run);
        token.Add(create);
        return token;
    }

    private static int Run(ParseResult parse)
    {
        if (!VectorizerCli.TryLoad(parse.GetValue(ConfigOption), null, out var settings, out _))
        {
            return 2;
        }

        var auth = settings.Auth;
        if (!auth.JwtEnabled || auth.EffectiveJwtSecret.Length == 0)
        {
            return Fail(auth.JwtRbac == false
                ? "`auth.jwt_rbac` is false: the server accepts no JWT"
                : "no signing secret: set `auth.jwt_secret` (VECTORIZER_JWT_SECRET), or `auth.jwt_rbac: true` with `auth.api_key` (VECTORIZER_API_KEY)");
        }

        var access = parse.GetValue(AccessOption);
        if (access is not (null or "r" or "m"))
        {
            return Fail($"--access must be r or m, got `{access}`");
        }

        List<CollectionGrant>? grants = null;
        var collections = parse.GetValue(CollectionOption) ?? [];
        if (collections.Length > 0)
        {
            grants = [];
            foreach (var item in collections)
            {
                var colon = item.LastIndexOf(':');
                var (name, level) = colon < 0 ? (item, access == "m" ? "rw" : "r") : (item[..colon], item[(colon + 1)..]);
                if (level is not ("r" or "rw"))
                {
                    return Fail($"--collection {item}: the access after `:` must be r or rw");
                }

                try
                {
                    CollectionNames.Validate(name);
                }
                catch (VectorizerException e)
                {
                    return Fail($"--collection {item}: {e.Message}");
                }

                grants.Add(new CollectionGrant(name, level == "rw"));
            }
        }
        else if (access is null)
        {
            return Fail("give --access r|m, or --collection C[:r|rw]");
        }

        var now = DateTimeOffset.UtcNow;
        DateTimeOffset? expires = now.AddSeconds(auth.TokenExpiry);
        if (parse.GetValue(ExpiresOption) is { } given)
        {
            if (given == "never")
            {
                expires = null;
            }
            else if (ParseDuration(given) is { } lifetime)
            {
                expires = now + lifetime;
            }
            else
            {
                return Fail($"--expires: `{given}` is not a duration such as 90s, 30m, 1h, 7d (or never)");
            }
        }

        Console.WriteLine(new JwtTokens(auth.EffectiveJwtSecret).Create(access, grants, expires, now));
        if (!auth.Enabled)
        {
            Console.Error.WriteLine("warning: `auth.enabled` is false in this configuration: the server does not ask for tokens");
        }

        return 0;
    }

    internal static TimeSpan? ParseDuration(string text)
    {
        if (text.Length < 1)
        {
            return null;
        }

        var unit = char.IsAsciiDigit(text[^1]) ? 's' : text[^1];
        var digits = char.IsAsciiDigit(text[^1]) ? text : text[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1 || value > 3650L * 86400)
        {
            return null;
        }

        return unit switch
        {
            's' => TimeSpan.FromSeconds(value),
            'm' => TimeSpan.FromMinutes(value),
            'h' => TimeSpan.FromHours(value),
            'd' => TimeSpan.FromDays(value),
            _ => null,
        };
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 2;
    }
}
