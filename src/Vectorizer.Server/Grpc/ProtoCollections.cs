using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Vectors;
using Vectorizer.Engine.Vectors.Quantization;
using P = Vectorizer.Server.Grpc.Protos;

namespace Vectorizer.Server.Grpc;

/// <summary>
/// Collection settings between Qdrant's gRPC messages and the engine's typed settings (<see cref="CollectionConfig"/>),
/// with the same rules as the REST parser. What the engine does not have (multivectors, other datatypes, turbo
/// quantization, custom sharding, the <c>memory</c> placement hints) is refused when set, never ignored.
/// </summary>
internal static class ProtoCollections
{
    public static CollectionConfig Create(P.CreateCollection request, HnswDefaults defaults, int maxVectorSize)
    {
        if (request.HasShardingMethod && request.ShardingMethod == P.ShardingMethod.Custom)
        {
            throw VectorizerException.BadRequest("sharding_method `custom` is not supported: a collection has one shard");
        }

        var vectors = new Dictionary<string, VectorParams>(StringComparer.Ordinal);
        var named = true;
        switch (request.VectorsConfig?.ConfigCase ?? P.VectorsConfig.ConfigOneofCase.None)
        {
            case P.VectorsConfig.ConfigOneofCase.Params:
                vectors[""] = Vector(request.VectorsConfig!.Params, "vectors_config", maxVectorSize);
                named = false;
                break;
            case P.VectorsConfig.ConfigOneofCase.ParamsMap:
                foreach (var (name, parameters) in request.VectorsConfig!.ParamsMap.Map)
                {
                    vectors[name] = Vector(parameters, $"vectors_config.{name}", maxVectorSize);
                }

                break;
        }

        var sparse = Sparse(request.SparseVectorsConfig);
        if (vectors.Count == 0 && sparse.Count == 0)
        {
            throw VectorizerException.Validation("vectors_config: at least one vector must be configured");
        }

#pragma warning disable CS0612 // on_disk_payload is deprecated in the contract, still sent by clients.
        var onDiskPayload = request.HasOnDiskPayload && request.OnDiskPayload;
#pragma warning restore CS0612

        // Qdrant.Client sends payload.memory for on_disk_payload: cold/cached = the memory-mapped payload log, pinned = RAM.
        if (request.Payload is { HasMemory: true } payload && payload.Memory != P.Memory.Unknown)
        {
            onDiskPayload = payload.Memory != P.Memory.Pinned;
        }
        return new CollectionConfig
        {
            Vectors = vectors,
            NamedVectors = named,
            ShardNumber = request.HasShardNumber ? Positive(request.ShardNumber, "shard_number") : 1,
            ReplicationFactor = request.HasReplicationFactor ? Positive(request.ReplicationFactor, "replication_factor") : 1,
            WriteConsistencyFactor = request.HasWriteConsistencyFactor ? Positive(request.WriteConsistencyFactor, "write_consistency_factor") : 1,
            OnDiskPayload = onDiskPayload,
            Hnsw = defaults.ToConfig().Apply(Hnsw(request.HnswConfig, "hnsw_config")),
            Optimizers = Optimizers(new OptimizersConfig(), request.OptimizersConfig),
            Wal = Wal(new WalConfig(), request.WalConfig),
            Quantization = request.QuantizationConfig is { } q ? Quantization(q, "quantization_config") : null,
            StrictMode = request.StrictModeConfig is not null
                ? throw VectorizerException.BadRequest("strict_mode_config is not supported over gRPC yet; set it through REST (PUT /collections/{c})")
                : null,
            Metadata = ProtoValues.Opaque(request.Metadata),
            SparseVectors = sparse,
        };
    }

    private static int Positive(uint value, string what) =>
        value >= 1 ? (int)Math.Min(value, int.MaxValue) : throw VectorizerException.BadRequest($"{what}: value {value} invalid, must be 1 or larger");

    /// <summary><c>CreateVectorName</c>'s dense config: size, distance, datatype (as a collection's vector).</summary>
    public static VectorParams DenseVector(P.DenseVectorCreationConfig config, int maxVectorSize)
    {
        var parameters = new P.VectorParams { Size = config.Size, Distance = config.Distance, MultivectorConfig = config.MultivectorConfig };
        if (config.HasDatatype)
        {
            parameters.Datatype = config.Datatype;
        }

        return Vector(parameters, "dense_config", maxVectorSize);
    }

    /// <summary><c>CreateVectorName</c>'s sparse config: the modifier (float32 only).</summary>
    public static SparseVectorParams SparseVector(P.SparseVectorCreationConfig config)
    {
        if (config.HasDatatype && config.Datatype is not (P.Datatype.Default or P.Datatype.Float32))
        {
            throw VectorizerException.BadRequest($"datatype `{config.Datatype}` is not supported yet; use float32");
        }

        return new SparseVectorParams { Modifier = config.HasModifier ? config.Modifier == P.Modifier.Idf ? SparseVectorModifier.Idf : SparseVectorModifier.None : null };
    }

    private static VectorParams Vector(P.VectorParams parameters, string path, int maxVectorSize)
    {
        if (parameters.MultivectorConfig is not null)
        {
            throw VectorizerException.BadRequest("multivector_config is not supported yet");
        }

        if (parameters.HasDatatype && parameters.Datatype is not (P.Datatype.Default or P.Datatype.Float32))
        {
            throw VectorizerException.BadRequest($"datatype `{parameters.Datatype}` is not supported yet; use float32");
        }

        if (parameters.HasMemory)
        {
            throw VectorizerException.BadRequest($"{path}.memory is not supported; use on_disk");
        }

        var distance = parameters.Distance switch
        {
            P.Distance.Cosine => Distance.Cosine,
            P.Distance.Euclid => Distance.Euclid,
            P.Distance.Dot => Distance.Dot,
            P.Distance.Manhattan => Distance.Manhattan,
            _ => throw VectorizerException.BadRequest($"{path}.distance: expected one of Cosine, Euclid, Dot, Manhattan"),
        };
        if (parameters.Size < 1 || parameters.Size > (ulong)maxVectorSize)
        {
            throw VectorizerException.Validation($"{path}.size: value {parameters.Size} invalid, must be from 1 to {maxVectorSize}");
        }

#pragma warning disable CS0612
        return new VectorParams
        {
            Size = (int)parameters.Size,
            Distance = distance,
            HnswConfig = Hnsw(parameters.HnswConfig, path + ".hnsw_config"),
            Quantization = parameters.QuantizationConfig is { } q ? Quantization(q, path + ".quantization_config") : null,
            OnDisk = parameters.HasOnDisk ? parameters.OnDisk : null,
            Datatype = parameters.HasDatatype && parameters.Datatype == P.Datatype.Float32 ? "float32" : null,
        };
#pragma warning restore CS0612
    }

    private static Dictionary<string, SparseVectorParams> Sparse(P.SparseVectorConfig? config)
    {
        var result = new Dictionary<string, SparseVectorParams>(StringComparer.Ordinal);
        if (config is null)
        {
            return result;
        }

        foreach (var (name, parameters) in config.Map)
        {
            SparseIndexParams? index = null;
            if (parameters.Index is { } i)
            {
                if (i.HasMemory)
                {
                    throw VectorizerException.BadRequest($"sparse_vectors_config.{name}.index.memory is not supported; use on_disk");
                }

#pragma warning disable CS0612
                index = new SparseIndexParams
                {
                    FullScanThreshold = i.HasFullScanThreshold ? Int(i.FullScanThreshold) : null,
                    OnDisk = i.HasOnDisk ? i.OnDisk : null,
                    Datatype = !i.HasDatatype ? null : i.Datatype switch
                    {
                        P.Datatype.Float32 or P.Datatype.Default => "float32",
                        P.Datatype.Float16 => "float16",
                        P.Datatype.Uint8 => "uint8",
                        var other => throw VectorizerException.BadRequest($"sparse_vectors_config.{name}.index.datatype `{other}` is not supported"),
                    },
                };
#pragma warning restore CS0612
            }

            result[name] = new SparseVectorParams
            {
                Modifier = parameters.HasModifier ? parameters.Modifier == P.Modifier.Idf ? SparseVectorModifier.Idf : SparseVectorModifier.None : null,
                Index = index,
            };
        }

        return result;
    }

    private static int Int(ulong value) => (int)Math.Min(value, int.MaxValue);

    public static HnswConfigDiff? Hnsw(P.HnswConfigDiff? diff, string path)
    {
        if (diff is null)
        {
            return null;
        }

        if (diff.HasMemory)
        {
            throw VectorizerException.BadRequest($"{path}.memory is not supported; use on_disk");
        }

        if (diff.HasEfConstruct && diff.EfConstruct < 4)
        {
            throw VectorizerException.Validation($"{path}.ef_construct: value {diff.EfConstruct} invalid, must be 4 or larger");
        }

#pragma warning disable CS0612
        return new HnswConfigDiff
        {
            M = diff.HasM ? Int(diff.M) : null,
            EfConstruct = diff.HasEfConstruct ? Int(diff.EfConstruct) : null,
            FullScanThreshold = diff.HasFullScanThreshold ? Int(diff.FullScanThreshold) : null,
            MaxIndexingThreads = diff.HasMaxIndexingThreads ? Int(diff.MaxIndexingThreads) : null,
            OnDisk = diff.HasOnDisk ? diff.OnDisk : null,
            PayloadM = diff.HasPayloadM ? Int(diff.PayloadM) : null,
            InlineStorage = diff.HasInlineStorage ? diff.InlineStorage : null,
        };
#pragma warning restore CS0612
    }

    private static OptimizersConfig Optimizers(OptimizersConfig config, P.OptimizersConfigDiff? diff)
    {
        if (diff is null)
        {
            return config;
        }

        if (diff.HasDeletedThreshold && diff.DeletedThreshold is < 0 or > 1)
        {
            throw VectorizerException.Validation($"optimizers_config.deleted_threshold: value {diff.DeletedThreshold} invalid, must be from 0 to 1");
        }

        if (diff.HasVacuumMinVectorNumber && diff.VacuumMinVectorNumber < 100)
        {
            throw VectorizerException.Validation($"optimizers_config.vacuum_min_vector_number: value {diff.VacuumMinVectorNumber} invalid, must be 100 or larger");
        }

        int? threads = diff.MaxOptimizationThreads is { } m
            ? m.VariantCase == P.MaxOptimizationThreads.VariantOneofCase.Value ? Int(m.Value) : null
            : diff.HasDeprecatedMaxOptimizationThreads ? Int(diff.DeprecatedMaxOptimizationThreads) : config.MaxOptimizationThreads;
        return config with
        {
            DeletedThreshold = diff.HasDeletedThreshold ? diff.DeletedThreshold : config.DeletedThreshold,
            VacuumMinVectorNumber = diff.HasVacuumMinVectorNumber ? Int(diff.VacuumMinVectorNumber) : config.VacuumMinVectorNumber,
            DefaultSegmentNumber = diff.HasDefaultSegmentNumber ? Int(diff.DefaultSegmentNumber) : config.DefaultSegmentNumber,
            MaxSegmentSize = diff.HasMaxSegmentSize ? Int(diff.MaxSegmentSize) : config.MaxSegmentSize,
            MemmapThreshold = diff.HasMemmapThreshold ? Int(diff.MemmapThreshold) : config.MemmapThreshold,
            IndexingThreshold = diff.HasIndexingThreshold ? Int(diff.IndexingThreshold) : config.IndexingThreshold,
            FlushIntervalSec = diff.HasFlushIntervalSec ? Int(diff.FlushIntervalSec) : config.FlushIntervalSec,
            MaxOptimizationThreads = threads,
            PreventUnoptimized = diff.HasPreventUnoptimized ? diff.PreventUnoptimized : config.PreventUnoptimized,
        };
    }

    private static WalConfig Wal(WalConfig config, P.WalConfigDiff? diff) => diff is null ? config : config with
    {
        WalCapacityMb = diff.HasWalCapacityMb
            ? diff.WalCapacityMb >= 1 ? Int(diff.WalCapacityMb) : throw VectorizerException.Validation("wal_config.wal_capacity_mb: value must be 1 or larger")
            : config.WalCapacityMb,
        WalSegmentsAhead = diff.HasWalSegmentsAhead ? Int(diff.WalSegmentsAhead) : config.WalSegmentsAhead,
        WalRetainClosed = diff.HasWalRetainClosed ? Int(diff.WalRetainClosed) : config.WalRetainClosed,
    };

    public static QuantizationSettings Quantization(P.QuantizationConfig config, string path) => config.QuantizationCase switch
    {
        P.QuantizationConfig.QuantizationOneofCase.Scalar => Scalar(config.Scalar, path),
        P.QuantizationConfig.QuantizationOneofCase.Product => Product(config.Product, path),
        P.QuantizationConfig.QuantizationOneofCase.Binary => Binary(config.Binary, path),
        P.QuantizationConfig.QuantizationOneofCase.Turboquant => throw VectorizerException.BadRequest($"{path}: turbo quantization is not supported; use scalar, product or binary"),
        _ => throw VectorizerException.BadRequest($"{path}: expected one of scalar, product, binary"),
    };

    /// <summary>A change: new settings, or none (<c>disabled</c>).</summary>
    private static QuantizationSettings? Quantization(P.QuantizationConfigDiff config, string path) => config.QuantizationCase switch
    {
        P.QuantizationConfigDiff.QuantizationOneofCase.Scalar => Scalar(config.Scalar, path),
        P.QuantizationConfigDiff.QuantizationOneofCase.Product => Product(config.Product, path),
        P.QuantizationConfigDiff.QuantizationOneofCase.Binary => Binary(config.Binary, path),
        P.QuantizationConfigDiff.QuantizationOneofCase.Disabled => null,
        P.QuantizationConfigDiff.QuantizationOneofCase.Turboquant => throw VectorizerException.BadRequest($"{path}: turbo quantization is not supported; use scalar, product or binary"),
        _ => throw VectorizerException.BadRequest($"{path}: expected one of scalar, product, binary, disabled"),
    };

#pragma warning disable CS0612 // always_ram: deprecated in the contract, still sent and stored.
    private static QuantizationSettings Scalar(P.ScalarQuantization scalar, string path)
    {
        if (scalar.Type != P.QuantizationType.Int8)
        {
            throw VectorizerException.BadRequest($"{path}.scalar.type: expected Int8");
        }

        if (scalar.HasQuantile && scalar.Quantile is < 0.5f or > 1.0f)
        {
            throw VectorizerException.Validation($"{path}.scalar.quantile: value must be between 0.5 and 1.0");
        }

        NoMemory(scalar.HasMemory, path);
        return new QuantizationSettings(QuantizationKind.Scalar, scalar.HasQuantile ? scalar.Quantile : null, scalar.HasAlwaysRam ? scalar.AlwaysRam : null);
    }

    private static QuantizationSettings Product(P.ProductQuantization product, string path)
    {
        NoMemory(product.HasMemory, path);
        var ratio = product.Compression switch
        {
            P.CompressionRatio.X4 => 4,
            P.CompressionRatio.X8 => 8,
            P.CompressionRatio.X16 => 16,
            P.CompressionRatio.X32 => 32,
            P.CompressionRatio.X64 => 64,
            _ => throw VectorizerException.BadRequest($"{path}.product.compression: expected one of x4, x8, x16, x32, x64"),
        };
        return new QuantizationSettings(QuantizationKind.Product, AlwaysRam: product.HasAlwaysRam ? product.AlwaysRam : null, Compression: ratio);
    }

    private static QuantizationSettings Binary(P.BinaryQuantization binary, string path)
    {
        NoMemory(binary.HasMemory, path);
        if (binary.HasEncoding && binary.Encoding != P.BinaryQuantizationEncoding.OneBit)
        {
            throw VectorizerException.BadRequest($"{path}.binary.encoding `{binary.Encoding}` is not supported; use OneBit");
        }

        if (binary.QueryEncoding is { } query && query.Setting != P.BinaryQuantizationQueryEncoding.Types.Setting.Default)
        {
            throw VectorizerException.BadRequest($"{path}.binary.query_encoding is not supported");
        }

        return new QuantizationSettings(QuantizationKind.Binary, AlwaysRam: binary.HasAlwaysRam ? binary.AlwaysRam : null);
    }
#pragma warning restore CS0612

    private static void NoMemory(bool has, string path)
    {
        if (has)
        {
            throw VectorizerException.BadRequest($"{path}.memory is not supported; use always_ram");
        }
    }

    /// <summary><c>UpdateCollection</c> as a change of the current config (sizes and distances never change).</summary>
    public static Func<CollectionConfig, CollectionConfig> Update(P.UpdateCollection request)
    {
        if (request.SparseVectorsConfig is { Map.Count: > 0 })
        {
            throw VectorizerException.BadRequest("sparse_vectors parameters can not be changed after the collection is created");
        }

        if (request.StrictModeConfig is not null)
        {
            throw VectorizerException.BadRequest("strict_mode_config is not supported over gRPC yet; set it through REST (PATCH /collections/{c})");
        }

        if (request.Metadata.Count > 0)
        {
            throw VectorizerException.BadRequest("metadata can not be changed over gRPC yet; use REST (PATCH /collections/{c})");
        }

        var vectorDiffs = new Dictionary<string, P.VectorParamsDiff>(StringComparer.Ordinal);
        switch (request.VectorsConfig?.ConfigCase ?? P.VectorsConfigDiff.ConfigOneofCase.None)
        {
            case P.VectorsConfigDiff.ConfigOneofCase.Params:
                vectorDiffs[""] = request.VectorsConfig!.Params;
                break;
            case P.VectorsConfigDiff.ConfigOneofCase.ParamsMap:
                foreach (var (name, diff) in request.VectorsConfig!.ParamsMap.Map)
                {
                    vectorDiffs[name] = diff;
                }

                break;
        }

        var parsedVectors = vectorDiffs.ToDictionary(
            v => v.Key,
            v =>
            {
                if (v.Value.HasMemory)
                {
                    throw VectorizerException.BadRequest($"vectors_config.{v.Key}.memory is not supported; use on_disk");
                }

#pragma warning disable CS0612
                return (Hnsw: Hnsw(v.Value.HnswConfig, $"vectors_config.{v.Key}.hnsw_config"),
                    Quantization: v.Value.QuantizationConfig is { } q ? new QuantizationChange(Quantization(q, $"vectors_config.{v.Key}.quantization_config")) : (QuantizationChange?)null,
                    OnDisk: v.Value.HasOnDisk ? v.Value.OnDisk : (bool?)null);
#pragma warning restore CS0612
            },
            StringComparer.Ordinal);
        var hnsw = Hnsw(request.HnswConfig, "hnsw_config");
        var quantization = request.QuantizationConfig is { } qc ? new QuantizationChange(Quantization(qc, "quantization_config")) : (QuantizationChange?)null;
        var parameters = request.Params;
        bool? payloadOnDisk = parameters?.Payload is { HasMemory: true } p && p.Memory != P.Memory.Unknown ? p.Memory != P.Memory.Pinned : null;

        return config =>
        {
            var vectors = new Dictionary<string, VectorParams>(config.Vectors, StringComparer.Ordinal);
            foreach (var (name, diff) in parsedVectors)
            {
                if (!vectors.TryGetValue(name, out var current))
                {
                    throw VectorizerException.VectorNameNotFound(name);
                }

                vectors[name] = current with
                {
                    HnswConfig = diff.Hnsw is null ? current.HnswConfig : current.HnswConfig?.Merge(diff.Hnsw) ?? diff.Hnsw,
                    Quantization = diff.Quantization is { } vq ? vq.Settings : current.Quantization,
                    OnDisk = diff.OnDisk ?? current.OnDisk,
                };
            }

            var updated = config with
            {
                Vectors = vectors,
                Hnsw = config.Hnsw.Apply(hnsw),
                Optimizers = Optimizers(config.Optimizers, request.OptimizersConfig),
                Quantization = quantization is { } q ? q.Settings : config.Quantization,
            };
            if (parameters is not null)
            {
#pragma warning disable CS0612
                updated = updated with
                {
                    ReplicationFactor = parameters.HasReplicationFactor ? Positive(parameters.ReplicationFactor, "params.replication_factor") : updated.ReplicationFactor,
                    WriteConsistencyFactor = parameters.HasWriteConsistencyFactor ? Positive(parameters.WriteConsistencyFactor, "params.write_consistency_factor") : updated.WriteConsistencyFactor,
                    OnDiskPayload = payloadOnDisk ?? (parameters.HasOnDiskPayload ? parameters.OnDiskPayload : updated.OnDiskPayload),
                };
#pragma warning restore CS0612
            }

            return updated;
        };
    }

    private readonly record struct QuantizationChange(QuantizationSettings? Settings);

    // ------------------------------------------------------------------ payload indexes

    public static PayloadFieldSchema FieldSchema(P.CreateFieldIndexCollection request)
    {
        if (!request.HasFieldType)
        {
            throw VectorizerException.BadRequest($"field_type is required to index `{request.FieldName}`");
        }

        var type = request.FieldType switch
        {
            P.FieldType.Keyword => PayloadSchemaType.Keyword,
            P.FieldType.Integer => PayloadSchemaType.Integer,
            P.FieldType.Float => PayloadSchemaType.Float,
            P.FieldType.Geo => PayloadSchemaType.Geo,
            P.FieldType.Text => PayloadSchemaType.Text,
            P.FieldType.Bool => PayloadSchemaType.Bool,
            P.FieldType.Datetime => PayloadSchemaType.Datetime,
            P.FieldType.Uuid => PayloadSchemaType.Uuid,
            _ => throw VectorizerException.BadRequest($"field_type {request.FieldType} is unknown"),
        };
        var p = request.FieldIndexParams;
        if (p is null || p.IndexParamsCase == P.PayloadIndexParams.IndexParamsOneofCase.None)
        {
            return new PayloadFieldSchema(type);
        }

#pragma warning disable CS0612
        var parsed = p.IndexParamsCase switch
        {
            P.PayloadIndexParams.IndexParamsOneofCase.KeywordIndexParams when type == PayloadSchemaType.Keyword => new PayloadIndexParams
            {
                IsTenant = p.KeywordIndexParams.HasIsTenant ? p.KeywordIndexParams.IsTenant : null,
                OnDisk = p.KeywordIndexParams.HasOnDisk ? p.KeywordIndexParams.OnDisk : null,
                EnableHnsw = p.KeywordIndexParams.HasEnableHnsw ? p.KeywordIndexParams.EnableHnsw : null,
            },
            P.PayloadIndexParams.IndexParamsOneofCase.IntegerIndexParams when type == PayloadSchemaType.Integer => new PayloadIndexParams
            {
                Lookup = p.IntegerIndexParams.HasLookup ? p.IntegerIndexParams.Lookup : null,
                Range = p.IntegerIndexParams.HasRange ? p.IntegerIndexParams.Range : null,
                IsPrincipal = p.IntegerIndexParams.HasIsPrincipal ? p.IntegerIndexParams.IsPrincipal : null,
                OnDisk = p.IntegerIndexParams.HasOnDisk ? p.IntegerIndexParams.OnDisk : null,
                EnableHnsw = p.IntegerIndexParams.HasEnableHnsw ? p.IntegerIndexParams.EnableHnsw : null,
            },
            P.PayloadIndexParams.IndexParamsOneofCase.FloatIndexParams when type == PayloadSchemaType.Float => new PayloadIndexParams
            {
                IsPrincipal = p.FloatIndexParams.HasIsPrincipal ? p.FloatIndexParams.IsPrincipal : null,
                OnDisk = p.FloatIndexParams.HasOnDisk ? p.FloatIndexParams.OnDisk : null,
                EnableHnsw = p.FloatIndexParams.HasEnableHnsw ? p.FloatIndexParams.EnableHnsw : null,
            },
            P.PayloadIndexParams.IndexParamsOneofCase.GeoIndexParams when type == PayloadSchemaType.Geo => new PayloadIndexParams
            {
                OnDisk = p.GeoIndexParams.HasOnDisk ? p.GeoIndexParams.OnDisk : null,
                EnableHnsw = p.GeoIndexParams.HasEnableHnsw ? p.GeoIndexParams.EnableHnsw : null,
            },
            P.PayloadIndexParams.IndexParamsOneofCase.BoolIndexParams when type == PayloadSchemaType.Bool => new PayloadIndexParams
            {
                OnDisk = p.BoolIndexParams.HasOnDisk ? p.BoolIndexParams.OnDisk : null,
                EnableHnsw = p.BoolIndexParams.HasEnableHnsw ? p.BoolIndexParams.EnableHnsw : null,
            },
            P.PayloadIndexParams.IndexParamsOneofCase.DatetimeIndexParams when type == PayloadSchemaType.Datetime => new PayloadIndexParams
            {
                IsPrincipal = p.DatetimeIndexParams.HasIsPrincipal ? p.DatetimeIndexParams.IsPrincipal : null,
                OnDisk = p.DatetimeIndexParams.HasOnDisk ? p.DatetimeIndexParams.OnDisk : null,
                EnableHnsw = p.DatetimeIndexParams.HasEnableHnsw ? p.DatetimeIndexParams.EnableHnsw : null,
            },
            P.PayloadIndexParams.IndexParamsOneofCase.UuidIndexParams when type == PayloadSchemaType.Uuid => new PayloadIndexParams
            {
                IsTenant = p.UuidIndexParams.HasIsTenant ? p.UuidIndexParams.IsTenant : null,
                OnDisk = p.UuidIndexParams.HasOnDisk ? p.UuidIndexParams.OnDisk : null,
                EnableHnsw = p.UuidIndexParams.HasEnableHnsw ? p.UuidIndexParams.EnableHnsw : null,
            },
            P.PayloadIndexParams.IndexParamsOneofCase.TextIndexParams when type == PayloadSchemaType.Text => new PayloadIndexParams
            {
                OnDisk = p.TextIndexParams.HasOnDisk ? p.TextIndexParams.OnDisk : null,
                EnableHnsw = p.TextIndexParams.HasEnableHnsw ? p.TextIndexParams.EnableHnsw : null,
                Text = Text(p.TextIndexParams),
            },
            _ => throw VectorizerException.BadRequest($"field_index_params ({p.IndexParamsCase}) do not match field_type {request.FieldType}"),
        };
#pragma warning restore CS0612
        return new PayloadFieldSchema(type, parsed);
    }

    private static TextIndexParams Text(P.TextIndexParams p)
    {
        if (p.Stopwords is { Languages.Count: > 0 })
        {
            throw VectorizerException.BadRequest("field_index_params.stopwords.languages: built-in stopword lists are not supported yet; give the words as custom");
        }

        if (p.Stemmer is { StemmingParamsCase: P.StemmingAlgorithm.StemmingParamsOneofCase.Snowball })
        {
            throw VectorizerException.BadRequest("field_index_params.stemmer: stemming is not supported yet");
        }

        if (p.HasMemory)
        {
            throw VectorizerException.BadRequest("field_index_params.memory is not supported; use on_disk");
        }

        return new TextIndexParams
        {
            Tokenizer = p.Tokenizer switch
            {
                P.TokenizerType.Prefix => TokenizerKind.Prefix,
                P.TokenizerType.Whitespace => TokenizerKind.Whitespace,
                P.TokenizerType.Multilingual => TokenizerKind.Multilingual,
                _ => TokenizerKind.Word,
            },
            Lowercase = p.HasLowercase ? p.Lowercase : null,
            AsciiFolding = p.HasAsciiFolding ? p.AsciiFolding : null,
            MinTokenLength = p.HasMinTokenLen ? Int(p.MinTokenLen) : null,
            MaxTokenLength = p.HasMaxTokenLen ? Int(p.MaxTokenLen) : null,
            Stopwords = p.Stopwords is { Custom.Count: > 0 } s ? [.. s.Custom] : null,
            PhraseMatching = p.HasPhraseMatching ? p.PhraseMatching : null,
        };
    }
}
