using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Ingestion.Embeddings;

/// <summary>
/// A cap on what embedding costs. Providers ask <see cref="Check"/> before each request with its estimated cost (a
/// refusal is <see cref="IngestionErrorCode.CostLimitReached"/>, before anything is sent) and <see cref="Record"/> what
/// the provider reports after it. Search queries are recorded, never refused (a cap must not take search down).
/// </summary>
public interface IEmbeddingBudget
{
    void Check(double estimatedCost);

    void Record(long tokens, double cost);
}

/// <summary>Tokens and money spent.</summary>
public readonly record struct EmbeddingSpend(long Tokens, double Cost);

/// <summary>The budget of one <c>vectorizer index</c> run: what it spent (including before a resume) against <c>max_cost</c> (0: none).</summary>
public sealed class RunBudget(double maxCost, EmbeddingSpend start = default) : IEmbeddingBudget
{
    private readonly Lock sync = new();
    private EmbeddingSpend spent = start;

    public double MaxCost => maxCost;

    public EmbeddingSpend Spent
    {
        get
        {
            lock (sync)
            {
                return spent;
            }
        }
    }

    public void Check(double estimatedCost)
    {
        lock (sync)
        {
            if (maxCost > 0 && spent.Cost + estimatedCost > maxCost)
            {
                throw new IngestionException(IngestionErrorCode.CostLimitReached, string.Create(CultureInfo.InvariantCulture,
                    $"the next batch (about ${estimatedCost:F4}) would bring this run's embedding cost to ${spent.Cost + estimatedCost:F4}, over the limit of ${maxCost:F4} (embedding.max_cost / --max-cost)"));
            }
        }
    }

    public void Record(long tokens, double cost)
    {
        lock (sync)
        {
            spent = new EmbeddingSpend(spent.Tokens + tokens, spent.Cost + cost);
        }
    }
}

/// <summary>Both budgets must allow a request; both record it.</summary>
public sealed class CombinedBudget(IEmbeddingBudget first, IEmbeddingBudget second) : IEmbeddingBudget
{
    public void Check(double estimatedCost)
    {
        first.Check(estimatedCost);
        second.Check(estimatedCost);
    }

    public void Record(long tokens, double cost)
    {
        first.Record(tokens, cost);
        second.Record(tokens, cost);
    }

    public static IEmbeddingBudget? Of(IEmbeddingBudget? a, IEmbeddingBudget? b) => a is null ? b : b is null ? a : new CombinedBudget(a, b);
}

/// <summary>
/// The server's spending per UTC day against <c>embedding.max_cost</c> (0: no limit, totals still kept), persisted in
/// <c>data_dir/embedding-usage.json</c> (replaced atomically after each recorded request) so a restart does not reset
/// the day. The totals of the current day are in <c>/api/status</c>.
/// </summary>
public sealed class DailyBudget : IEmbeddingBudget
{
    private readonly string path;
    private readonly TimeProvider time;
    private readonly Lock sync = new();
    private Usage usage;

    public DailyBudget(string path, double maxCostPerDay, TimeProvider? time = null)
    {
        this.path = path;
        this.time = time ?? TimeProvider.System;
        MaxCostPerDay = maxCostPerDay;
        usage = Load(path) ?? new Usage { Day = TodayUtc() };
    }

    public double MaxCostPerDay { get; }

    /// <summary>The current UTC day and what it has spent so far.</summary>
    public (string Day, long Tokens, double Cost, long Requests) Today
    {
        get
        {
            lock (sync)
            {
                Roll();
                return (usage.Day, usage.Tokens, usage.Cost, usage.Requests);
            }
        }
    }

    public void Check(double estimatedCost)
    {
        lock (sync)
        {
            Roll();
            if (MaxCostPerDay > 0 && usage.Cost + estimatedCost > MaxCostPerDay)
            {
                throw new IngestionException(IngestionErrorCode.CostLimitReached, string.Create(CultureInfo.InvariantCulture,
                    $"the next batch (about ${estimatedCost:F4}) would bring today's ({usage.Day} UTC) embedding cost to ${usage.Cost + estimatedCost:F4}, over the daily limit of ${MaxCostPerDay:F4} (embedding.max_cost)"));
            }
        }
    }

    public void Record(long tokens, double cost)
    {
        lock (sync)
        {
            Roll();
            usage = new Usage { Day = usage.Day, Tokens = usage.Tokens + tokens, Cost = usage.Cost + cost, Requests = usage.Requests + 1 };
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                FileUtil.WriteAtomic(path, JsonSerializer.SerializeToUtf8Bytes(usage));
            }
            catch (IOException)
            {
                // The totals in memory stay right; the file catches up at the next request.
            }
        }
    }

    private void Roll()
    {
        var today = TodayUtc();
        if (usage.Day != today)
        {
            usage = new Usage { Day = today };
        }
    }

    private string TodayUtc() => time.GetUtcNow().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static Usage? Load(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<Usage>(File.ReadAllBytes(path)) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record Usage
    {
        [JsonPropertyName("day")]
        public required string Day { get; init; }

        [JsonPropertyName("tokens")]
        public long Tokens { get; init; }

        [JsonPropertyName("cost")]
        public double Cost { get; init; }

        [JsonPropertyName("requests")]
        public long Requests { get; init; }
    }
}
