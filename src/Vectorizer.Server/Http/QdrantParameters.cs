using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;

namespace Vectorizer.Server.Http;

/// <summary>
/// Qdrant's schema checks of path and query parameters, before a handler runs (422 "Validation error in path
/// parameters: [...]" / "... in query parameters: [...]"): a collection name in the path is 1 to 255 bytes, and on
/// creation (<c>PUT /collections/{name}</c>) also free of the characters a file name cannot hold (Qdrant checks only
/// the length elsewhere, so collections with older names stay reachable); a <c>timeout</c> is at least 1 second.
/// </summary>
public static class QdrantParameters
{
    public static IApplicationBuilder UseQdrantParameters(this IApplicationBuilder app) => app.Use(Validate);

    private static Task Validate(HttpContext context, RequestDelegate next)
    {
        if (context.Request.RouteValues.TryGetValue("collection", out var value) && value is string name)
        {
            var bytes = Encoding.UTF8.GetByteCount(name);
            if (bytes is 0 or > 255)
            {
                throw new ApiException(ApiErrorCode.InvalidPathParameters, $"name: length {bytes} invalid, must be from 1 to 255 bytes");
            }

            if (HttpMethods.IsPut(context.Request.Method) && context.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: "/collections/{collection}" })
            {
                try
                {
                    CollectionNames.Validate(name);
                }
                catch (VectorizerException e)
                {
                    throw new ApiException(ApiErrorCode.InvalidPathParameters, "name: " + e.Message);
                }
            }
        }

        var timeout = context.Request.Query["timeout"].ToString();
        if (timeout.Length > 0 && long.TryParse(timeout, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds) && seconds < 1)
        {
            throw new ApiException(ApiErrorCode.InvalidQueryParameters, $"timeout: value {seconds} invalid, must be 1 or larger");
        }

        return next(context);
    }
}
