using Google.Protobuf.Collections;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;
using Vectorizer.Engine.Vectors.Quantization;
using P = Vectorizer.Server.Grpc.Protos;

namespace Vectorizer.Server.Grpc;

/// <summary>Points, vectors, selectors and results between Qdrant's gRPC messages and the engine's types.</summary>
internal static class ProtoPoints
{
    // ------------------------------------------------------------------ vectors in

    public static PointStruct Point(P.PointStruct point)
    {
        var (dense, sparse) = Vectors(point.Vectors);
        return new PointStruct(ProtoValues.Id(point.Id), dense, point.Payload.Count > 0 ? ProtoValues.Payload(point.Payload) : null, sparse);
    }

    public static List<PointStruct> Points(RepeatedField<P.PointStruct> points, int maxBatch)
    {
        if (points.Count > maxBatch)
        {
            throw VectorizerException.Validation($"too many points in one request: {points.Count}, the limit is {maxBatch}");
        }

        return [.. points.Select(Point)];
    }

    public static PointVectors PointVectors(P.PointVectors point)
    {
        var (dense, sparse) = Vectors(point.Vectors);
        return new PointVectors(ProtoValues.Id(point.Id), dense, sparse);
    }

    public static (IReadOnlyDictionary<string, float[]> Dense, IReadOnlyDictionary<string, SparseVector>? Sparse) Vectors(P.Vectors? vectors)
    {
        var dense = new Dictionary<string, float[]>(StringComparer.Ordinal);
        Dictionary<string, SparseVector>? sparse = null;
        switch (vectors?.VectorsOptionsCase ?? P.Vectors.VectorsOptionsOneofCase.None)
        {
            case P.Vectors.VectorsOptionsOneofCase.Vector:
                Add(dense, ref sparse, "", vectors!.Vector);
                break;
            case P.Vectors.VectorsOptionsOneofCase.Vectors_:
                foreach (var (name, vector) in vectors!.Vectors_.Vectors)
                {
                    Add(dense, ref sparse, name, vector);
                }

                break;
        }

        return (dense, sparse);
    }

    private static void Add(Dictionary<string, float[]> dense, ref Dictionary<string, SparseVector>? sparse, string name, P.Vector vector)
    {
        var (d, s) = Vector(vector, name);
        if (s is not null)
        {
            (sparse ??= new Dictionary<string, SparseVector>(StringComparer.Ordinal))[name] = s;
        }
        else
        {
            dense[name] = d!;
        }
    }

    /// <summary>A <c>Vector</c>: the current oneof (dense, sparse) or the deprecated <c>data</c> (+ <c>indices</c>) form.</summary>
#pragma warning disable CS0612 // Type or member is obsolete: the deprecated fields are what older clients send.
    public static (float[]? Dense, SparseVector? Sparse) Vector(P.Vector vector, string name) => vector.VectorCase switch
    {
        P.Vector.VectorOneofCase.Dense => (vector.Dense.Data.ToArray(), null),
        P.Vector.VectorOneofCase.Sparse => (null, SparseVector.Create([.. vector.Sparse.Indices], [.. vector.Sparse.Values], name)),
        P.Vector.VectorOneofCase.MultiDense => throw VectorizerException.BadRequest("Multi-vectors are not supported by this collection"),
        P.Vector.VectorOneofCase.Document or P.Vector.VectorOneofCase.Image or P.Vector.VectorOneofCase.Object =>
            throw VectorizerException.BadRequest($"Vector `{name}`: inference objects are not supported; send the vector itself (or use POST /collections/{{c}}/documents)"),
        _ when vector.Indices is { } indices => (null, SparseVector.Create([.. indices.Data], [.. vector.Data], name)),
        _ => (vector.Data.ToArray(), null),
    };

    public static (float[]? Dense, SparseVector? Sparse) VectorInput(P.VectorInput input, string what) => input.VariantCase switch
    {
        P.VectorInput.VariantOneofCase.Dense => (input.Dense.Data.ToArray(), null),
        P.VectorInput.VariantOneofCase.Sparse => (null, SparseVector.Create([.. input.Sparse.Indices], [.. input.Sparse.Values], "query")),
        P.VectorInput.VariantOneofCase.MultiDense => throw VectorizerException.BadRequest("Multi-vector queries are not supported yet"),
        P.VectorInput.VariantOneofCase.Document or P.VectorInput.VariantOneofCase.Image or P.VectorInput.VariantOneofCase.Object =>
            throw VectorizerException.BadRequest($"{what}: inference objects are not supported; send the vector itself (or use POST /collections/{{c}}/search/text)"),
        _ => throw VectorizerException.BadRequest($"{what}: a vector or a point id is required"),
    };
#pragma warning restore CS0612

    // ------------------------------------------------------------------ selectors

    public static PointSelector Selector(P.PointsSelector? selector) => selector?.PointsSelectorOneOfCase switch
    {
        P.PointsSelector.PointsSelectorOneOfOneofCase.Points => PointSelector.ForIds(ProtoValues.Ids(selector.Points.Ids)),
        P.PointsSelector.PointsSelectorOneOfOneofCase.Filter => PointSelector.ForFilter(
            ProtoFilters.Optional(selector.Filter) ?? new Engine.Filters.Filter()),
        _ => throw VectorizerException.BadRequest("Either list of point ids or filter must be provided"),
    };

    public static PayloadSelector WithPayload(P.WithPayloadSelector? selector, bool fallback) => selector?.SelectorOptionsCase switch
    {
        P.WithPayloadSelector.SelectorOptionsOneofCase.Enable => selector.Enable ? PayloadSelector.All : PayloadSelector.None,
        P.WithPayloadSelector.SelectorOptionsOneofCase.Include => new PayloadSelector(true, Include: [.. selector.Include.Fields.Select(f => ProtoValues.Key(f, "with_payload"))]),
        P.WithPayloadSelector.SelectorOptionsOneofCase.Exclude => new PayloadSelector(true, Exclude: [.. selector.Exclude.Fields.Select(f => ProtoValues.Key(f, "with_payload"))]),
        _ => fallback ? PayloadSelector.All : PayloadSelector.None,
    };

    public static VectorSelector WithVectors(P.WithVectorsSelector? selector) => selector?.SelectorOptionsCase switch
    {
        P.WithVectorsSelector.SelectorOptionsOneofCase.Enable => selector.Enable ? VectorSelector.All : VectorSelector.None,
        P.WithVectorsSelector.SelectorOptionsOneofCase.Include => new VectorSelector(true, [.. selector.Include.Names]),
        _ => VectorSelector.None,
    };

    public static QuantizationSearchParams? Quantization(P.SearchParams? parameters)
    {
        if (parameters?.Quantization is not { } q)
        {
            return null;
        }

        var oversampling = q.HasOversampling ? q.Oversampling : 1.0;
        return oversampling < 1.0
            ? throw VectorizerException.Validation("params.quantization.oversampling: value must be 1 or larger")
            : new QuantizationSearchParams(q.HasIgnore && q.Ignore, !q.HasRescore || q.Rescore, oversampling);
    }

    /// <summary>Search parameters the engine does not have are refused when set, not ignored.</summary>
    public static void CheckParams(P.SearchParams? parameters)
    {
        if (parameters is null)
        {
            return;
        }

        if (parameters.HasIndexedOnly && parameters.IndexedOnly)
        {
            throw VectorizerException.BadRequest("params.indexed_only is not supported");
        }

        if (parameters.Acorn is { HasEnable: true, Enable: true })
        {
            throw VectorizerException.BadRequest("params.acorn is not supported");
        }

        if (parameters.Idf is not null)
        {
            throw VectorizerException.BadRequest("params.idf is not supported");
        }
    }

    public static int? HnswEf(P.SearchParams? parameters) =>
        parameters is { HasHnswEf: true } ? Int(parameters.HnswEf, "params.hnsw_ef", min: 1) : null;

    public static int Int(ulong value, string what, int min = 0) =>
        value < (ulong)min ? throw VectorizerException.Validation($"{what}: value {value} invalid, must be {min} or larger")
        : (int)Math.Min(value, int.MaxValue);

    // ------------------------------------------------------------------ results out

    public static P.RetrievedPoint Retrieved(PointRecord record, bool named)
    {
        var point = new P.RetrievedPoint { Id = ProtoValues.Id(record.Id) };
        ProtoValues.Fill(point.Payload, record.Payload);
        if (VectorsOutput(record.Vectors, record.Sparse, named) is { } vectors)
        {
            point.Vectors = vectors;
        }

        if (record.OrderValue is { } order)
        {
            point.OrderValue = OrderValue(order);
        }

        return point;
    }

    public static P.ScoredPoint Scored(ScoredPoint found, bool named)
    {
        var point = new P.ScoredPoint { Id = ProtoValues.Id(found.Id), Score = found.Score, Version = found.Version };
        ProtoValues.Fill(point.Payload, found.Payload);
        if (VectorsOutput(found.Vectors, found.Sparse, named) is { } vectors)
        {
            point.Vectors = vectors;
        }

        if (found.OrderValue is { } order)
        {
            point.OrderValue = OrderValue(order);
        }

        return point;
    }

    public static void AddScored(RepeatedField<P.ScoredPoint> target, IReadOnlyList<ScoredPoint> found, bool named)
    {
        foreach (var point in found)
        {
            target.Add(Scored(point, named));
        }
    }

    private static P.OrderValue OrderValue(double value) =>
        value == Math.Floor(value) && Math.Abs(value) < 9.2e18 ? new P.OrderValue { Int = (long)value } : new P.OrderValue { Float = value };

    private static P.VectorsOutput? VectorsOutput(IReadOnlyDictionary<string, float[]>? dense, IReadOnlyDictionary<string, SparseVector>? sparse, bool named)
    {
        if (dense is null && sparse is null)
        {
            return null;
        }

        if (!named && sparse is null or { Count: 0 } && dense is { Count: 1 } && dense.TryGetValue("", out var single))
        {
            return new P.VectorsOutput { Vector = Dense(single) };
        }

        var map = new P.NamedVectorsOutput();
        foreach (var (name, vector) in dense ?? new Dictionary<string, float[]>())
        {
            map.Vectors[name] = Dense(vector);
        }

        foreach (var (name, vector) in sparse ?? new Dictionary<string, SparseVector>())
        {
            var output = new P.VectorOutput { Sparse = new P.SparseVector() };
            output.Sparse.Indices.Add(vector.Indices);
            output.Sparse.Values.Add(vector.Values);
            map.Vectors[name] = output;
        }

        return new P.VectorsOutput { Vectors = map };
    }

    private static P.VectorOutput Dense(float[] vector)
    {
        var dense = new P.DenseVector();
        dense.Data.Add(vector);
        var output = new P.VectorOutput { Dense = dense };
#pragma warning disable CS0612 // Clients before the oneof read the deprecated `data`; fill both, as the contract allows.
        output.Data.Add(vector);
#pragma warning restore CS0612
        return output;
    }

    public static P.UpdateResult Update(UpdateResult result) => new()
    {
        OperationId = (ulong)result.OperationId,
        Status = result.Status == UpdateStatus.Completed ? P.UpdateStatus.Completed : P.UpdateStatus.Acknowledged,
    };
}
