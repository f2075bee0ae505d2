using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;

namespace Vectorizer.Ingestion.Embeddings.Local;

/// <summary>How token vectors become one sentence vector.</summary>
public enum LocalPooling
{
    /// <summary>The average of the token vectors the attention mask keeps (sentence-transformers' default).</summary>
    Mean,

    /// <summary>The vector of the first token (<c>[CLS]</c>), for models trained that way (BGE, for one).</summary>
    Cls,
}

/// <summary>What one call encodes with: truncation, pooling, normalisation and the texts per forward pass.</summary>
public readonly record struct LocalEncoding(int MaxTokens, LocalPooling Pooling, bool Normalize, int BatchSize);

/// <summary>
/// A sentence-embedding model loaded once per process: an ONNX Runtime <see cref="InferenceSession"/> (thread-safe, so
/// every collection and every request that uses the model shares it) and its WordPiece tokenizer
/// (<see cref="BertTokenizer"/>). <see cref="Encode"/> is a transformer forward pass on the CPU, so it is made cheap
/// where it can be: texts are tokenized and truncated to <see cref="LocalEncoding.MaxTokens"/>, sorted by length and cut
/// into batches padded only to their own longest text (length bucketing: a batch of short texts costs what short texts
/// cost), and the pooling and normalisation run on the output with <see cref="TensorPrimitives"/>.
/// </summary>
public sealed class LocalModel : IDisposable
{
    private readonly InferenceSession session;
    private readonly BertTokenizer tokenizer;
    private readonly bool hasTokenTypes;
    private readonly string output;

    internal LocalModel(string identity, byte[] model, Stream vocabulary, bool lowercase, int threads)
    {
        Identity = identity;
        tokenizer = BertTokenizer.Create(vocabulary, new BertOptions { LowerCaseBeforeTokenization = lowercase });
        using var options = new SessionOptions
        {
            // One request's texts run as one sequence of batches; the cores go to the matrix products inside each.
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
        };
        session = new InferenceSession(model, options);
        var inputs = session.InputMetadata;
        if (!inputs.ContainsKey("input_ids") || !inputs.ContainsKey("attention_mask"))
        {
            throw new InvalidDataException($"the model's inputs are {string.Join(", ", inputs.Keys)}; a BERT-style model takes input_ids and attention_mask");
        }

        hasTokenTypes = inputs.ContainsKey("token_type_ids");
        output = session.OutputMetadata.ContainsKey("last_hidden_state") ? "last_hidden_state" : session.OutputNames[0];
        Threads = threads;
    }

    /// <summary>What the model is: the built-in model's name and package version, or the SHA-256 of a model file and its vocabulary.</summary>
    public string Identity { get; }

    /// <summary>ONNX Runtime's intra-op threads (0: its default, one per physical core).</summary>
    public int Threads { get; }

    /// <summary>The token ids of <paramref name="text"/> with <c>[CLS]</c> and <c>[SEP]</c>, at most <paramref name="maxTokens"/> of them.</summary>
    public IReadOnlyList<int> Tokenize(string text, int maxTokens) =>
        tokenizer.EncodeToIds(text, maxTokens, addSpecialTokens: true, out _, out _);

    /// <summary>
    /// One vector per text, in input order, and the number of tokens the model read. Checks
    /// <paramref name="cancellationToken"/> between batches.
    /// </summary>
    public (float[][] Vectors, long Tokens) Encode(IReadOnlyList<string> texts, LocalEncoding encoding, CancellationToken cancellationToken = default)
    {
        var ids = new IReadOnlyList<int>[texts.Count];
        var order = new int[texts.Count];
        long tokens = 0;
        for (var i = 0; i < texts.Count; i++)
        {
            ids[i] = Tokenize(texts[i], encoding.MaxTokens);
            order[i] = i;
            tokens += ids[i].Count;
        }

        // Length bucketing: neighbours in length share a batch, padded to the longest of them.
        Array.Sort(order, (a, b) => ids[a].Count.CompareTo(ids[b].Count));
        var vectors = new float[texts.Count][];
        var batchSize = Math.Max(1, encoding.BatchSize);
        for (var start = 0; start < order.Length; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = order.AsSpan(start, Math.Min(batchSize, order.Length - start));
            RunBatch(batch, ids, encoding, vectors);
        }

        return (vectors, tokens);
    }

    private void RunBatch(ReadOnlySpan<int> batch, IReadOnlyList<int>[] ids, LocalEncoding encoding, float[][] vectors)
    {
        var length = 0;
        foreach (var index in batch)
        {
            length = Math.Max(length, ids[index].Count);
        }

        var shape = new long[] { batch.Length, length };
        var inputIds = new long[batch.Length * length];
        var mask = new long[batch.Length * length];
        for (var b = 0; b < batch.Length; b++)
        {
            var tokens = ids[batch[b]];
            for (var t = 0; t < tokens.Count; t++)
            {
                inputIds[(b * length) + t] = tokens[t];
                mask[(b * length) + t] = 1;
            }
        }

        using var idsValue = OrtValue.CreateTensorValueFromMemory(inputIds, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typesValue = hasTokenTypes ? OrtValue.CreateTensorValueFromMemory(new long[batch.Length * length], shape) : null;
        var names = hasTokenTypes ? new[] { "input_ids", "attention_mask", "token_type_ids" } : new[] { "input_ids", "attention_mask" };
        var values = hasTokenTypes ? new[] { idsValue, maskValue, typesValue! } : new[] { idsValue, maskValue };
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, names, values, [output]);
        var result = results[0];
        var outputShape = result.GetTensorTypeAndShape().Shape;
        var data = result.GetTensorDataAsSpan<float>();
        if (outputShape.Length == 2)
        {
            // Already pooled by the graph (a `sentence_embedding` output).
            var width = (int)outputShape[1];
            for (var b = 0; b < batch.Length; b++)
            {
                vectors[batch[b]] = Finish(data.Slice(b * width, width).ToArray(), encoding.Normalize);
            }

            return;
        }

        if (outputShape.Length != 3 || outputShape[1] != length)
        {
            throw new InvalidDataException($"the model's output `{output}` has shape [{string.Join(", ", outputShape)}]; expected [batch, tokens, hidden]");
        }

        var hidden = (int)outputShape[2];
        for (var b = 0; b < batch.Length; b++)
        {
            var count = ids[batch[b]].Count;
            var vector = new float[hidden];
            var rows = data.Slice(b * length * hidden, length * hidden);
            if (encoding.Pooling == LocalPooling.Cls)
            {
                rows[..hidden].CopyTo(vector);
            }
            else
            {
                // Padding comes after the text, so the mask keeps exactly the first `count` rows.
                for (var t = 0; t < count; t++)
                {
                    TensorPrimitives.Add(vector, rows.Slice(t * hidden, hidden), vector);
                }

                TensorPrimitives.Divide(vector, Math.Max(1, count), vector);
            }

            vectors[batch[b]] = Finish(vector, encoding.Normalize);
        }
    }

    private static float[] Finish(float[] vector, bool normalize)
    {
        if (normalize)
        {
            var norm = TensorPrimitives.Norm(vector);
            if (norm > 0)
            {
                TensorPrimitives.Divide(vector, norm, vector);
            }
        }

        return vector;
    }

    public void Dispose() => session.Dispose();
}
