using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Embeddings;
using Vectorizer.Ingestion.Expansion;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Application.Caching;

/// <summary>Registers the ingestion service with what the server adds to it: the query cache, HyDE's LLM, the daily embedding budget.</summary>
public static class TextSearchServices
{
    public static IServiceCollection AddTextSearch(this IServiceCollection services, VectorizerSettings settings)
    {
        services.AddSingleton(provider => new QueryCache(settings.Cache, provider.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton(provider => settings.Llm.ToOptions() is { } llm
            ? new HydeHolder(new HydeExpander(llm, provider.GetRequiredService<QueryCache>().Shared, provider.GetRequiredService<ILoggerFactory>().CreateLogger("Vectorizer.Hyde")))
            : new HydeHolder(null));
        services.AddSingleton(provider => new DailyBudget(
            Path.Combine(provider.GetRequiredService<CollectionManager>().DataDirectory, "embedding-usage.json"), settings.Embedding.MaxCost));
        services.AddSingleton(provider => new IngestionService(
            provider.GetRequiredService<CollectionManager>().DataDirectory,
            provider.GetRequiredService<ILoggerFactory>(),
            options: settings.ToIngestionOptions() with
            {
                Hyde = provider.GetRequiredService<HydeHolder>().Expander,
                Budget = provider.GetRequiredService<DailyBudget>(),
            }));
        return services;
    }

    /// <summary>The HyDE expander when <c>llm:</c> is configured (disposed with the container).</summary>
    internal sealed class HydeHolder(HydeExpander? expander) : IDisposable
    {
        public HydeExpander? Expander => expander;

        public void Dispose() => expander?.Dispose();
    }
}
