using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Vectors;
using Vectorizer.Engine.Vectors.Quantization;
using P = Vectorizer.Server.Grpc.Protos;

namespace Vectorizer.Server.Grpc;

/// <summary>Collection info as Qdrant's gRPC <c>CollectionInfo</c> (the same facts as <c>GET /collections/{c}</c>).</summary>
internal static class ProtoCollectionInfo
{
    public static P.CollectionInfo Info(CollectionInfo info)
    {
        var result = new P.CollectionInfo
        {
            Status = info.Status switch
            {
                CollectionStatus.Green => P.CollectionStatus.Green,
                CollectionStatus.Yellow => P.CollectionStatus.Yellow,
                CollectionStatus.Grey => P.CollectionStatus.Grey,
                _ => P.CollectionStatus.Red,
            },
            OptimizerStatus = new P.OptimizerStatus { Ok = info.OptimizerError is null, Error = info.OptimizerError ?? "" },
            SegmentsCount = (ulong)info.SegmentsCount,
            Config = Config(info.Config),
            PointsCount = (ulong)info.PointsCount,
            IndexedVectorsCount = (ulong)info.IndexedVectorsCount,
            UpdateQueue = new P.UpdateQueueInfo { Length = 0 },
        };
        foreach (var index in info.PayloadSchema ?? [])
        {
            result.PayloadSchema[index.Field] = new P.PayloadSchemaInfo
            {
                DataType = SchemaType(index.Schema.Type),
                Points = (ulong)index.Points,
                Params = IndexParams(index.Schema),
            };
        }

        return result;
    }

    private static P.CollectionConfig Config(CollectionConfig config)
    {
#pragma warning disable CS0612 // deprecated fields of the contract that Qdrant still reports
        var parameters = new P.CollectionParams
        {
            ShardNumber = (uint)config.ShardNumber,
            ReplicationFactor = (uint)config.ReplicationFactor,
            WriteConsistencyFactor = (uint)config.WriteConsistencyFactor,
            OnDiskPayload = config.OnDiskPayload,
            ShardingMethod = P.ShardingMethod.Auto,
        };
        if (config.NamedVectors)
        {
            var map = new P.VectorParamsMap();
            foreach (var (name, vector) in config.Vectors)
            {
                map.Map[name] = Vector(vector);
            }

            parameters.VectorsConfig = new P.VectorsConfig { ParamsMap = map };
        }
        else if (config.Vectors.TryGetValue("", out var single))
        {
            parameters.VectorsConfig = new P.VectorsConfig { Params = Vector(single) };
        }

        if (config.SparseVectors.Count > 0)
        {
            var sparse = new P.SparseVectorConfig();
            foreach (var (name, s) in config.SparseVectors)
            {
                var p = new P.SparseVectorParams();
                if (s.Modifier is { } modifier)
                {
                    p.Modifier = modifier == SparseVectorModifier.Idf ? P.Modifier.Idf : P.Modifier.None;
                }

                if (s.Index is { } index)
                {
                    p.Index = new P.SparseIndexConfig();
                    if (index.FullScanThreshold is { } t)
                    {
                        p.Index.FullScanThreshold = (ulong)t;
                    }

                    if (index.OnDisk is { } onDisk)
                    {
                        p.Index.OnDisk = onDisk;
                    }
                }

                sparse.Map[name] = p;
            }

            parameters.SparseVectorsConfig = sparse;
        }

        var hnsw = config.Hnsw;
        var result = new P.CollectionConfig
        {
            Params = parameters,
            HnswConfig = new P.HnswConfigDiff
            {
                M = (ulong)hnsw.M,
                EfConstruct = (ulong)hnsw.EfConstruct,
                FullScanThreshold = (ulong)hnsw.FullScanThreshold,
                MaxIndexingThreads = (ulong)hnsw.MaxIndexingThreads,
                OnDisk = hnsw.OnDisk,
            },
            OptimizerConfig = new P.OptimizersConfigDiff
            {
                DeletedThreshold = config.Optimizers.DeletedThreshold,
                VacuumMinVectorNumber = (ulong)config.Optimizers.VacuumMinVectorNumber,
                DefaultSegmentNumber = (ulong)config.Optimizers.DefaultSegmentNumber,
                FlushIntervalSec = (ulong)config.Optimizers.FlushIntervalSec,
            },
            WalConfig = new P.WalConfigDiff
            {
                WalCapacityMb = (ulong)config.Wal.WalCapacityMb,
                WalSegmentsAhead = (ulong)config.Wal.WalSegmentsAhead,
                WalRetainClosed = (ulong)config.Wal.WalRetainClosed,
            },
        };
#pragma warning restore CS0612
        if (hnsw.PayloadM is { } payloadM)
        {
            result.HnswConfig.PayloadM = (ulong)payloadM;
        }

        if (hnsw.InlineStorage is { } inline)
        {
            result.HnswConfig.InlineStorage = inline;
        }

        var optimizers = config.Optimizers;
        if (optimizers.MaxSegmentSize is { } maxSegment)
        {
            result.OptimizerConfig.MaxSegmentSize = (ulong)maxSegment;
        }

        if (optimizers.MemmapThreshold is { } memmap)
        {
            result.OptimizerConfig.MemmapThreshold = (ulong)memmap;
        }

        if (optimizers.IndexingThreshold is { } indexing)
        {
            result.OptimizerConfig.IndexingThreshold = (ulong)indexing;
        }

        result.OptimizerConfig.MaxOptimizationThreads = optimizers.MaxOptimizationThreads is { } threads
            ? new P.MaxOptimizationThreads { Value = (ulong)threads }
            : new P.MaxOptimizationThreads { Setting = P.MaxOptimizationThreads.Types.Setting.Auto };
        if (optimizers.PreventUnoptimized is { } prevent)
        {
            result.OptimizerConfig.PreventUnoptimized = prevent;
        }

        if (config.Quantization is { } quantization)
        {
            result.QuantizationConfig = Quantization(quantization);
        }

        if (config.Metadata is { } metadata)
        {
            ProtoValues.Fill(result.Metadata, metadata.ToElement());
        }

        return result;
    }

    private static P.VectorParams Vector(VectorParams vector)
    {
        var result = new P.VectorParams
        {
            Size = (ulong)vector.Size,
            Distance = vector.Distance switch
            {
                Distance.Cosine => P.Distance.Cosine,
                Distance.Euclid => P.Distance.Euclid,
                Distance.Dot => P.Distance.Dot,
                _ => P.Distance.Manhattan,
            },
        };
        if (vector.HnswConfig is { } diff)
        {
#pragma warning disable CS0612
            result.HnswConfig = new P.HnswConfigDiff();
            if (diff.M is { } m)
            {
                result.HnswConfig.M = (ulong)m;
            }

            if (diff.EfConstruct is { } ef)
            {
                result.HnswConfig.EfConstruct = (ulong)ef;
            }

            if (diff.FullScanThreshold is { } threshold)
            {
                result.HnswConfig.FullScanThreshold = (ulong)threshold;
            }

            if (diff.MaxIndexingThreads is { } threads)
            {
                result.HnswConfig.MaxIndexingThreads = (ulong)threads;
            }

            if (diff.OnDisk is { } onDisk)
            {
                result.HnswConfig.OnDisk = onDisk;
            }

            if (diff.PayloadM is { } payloadM)
            {
                result.HnswConfig.PayloadM = (ulong)payloadM;
            }
#pragma warning restore CS0612
        }

        if (vector.Quantization is { } quantization)
        {
            result.QuantizationConfig = Quantization(quantization);
        }

        if (vector.OnDisk is { } vectorOnDisk)
        {
#pragma warning disable CS0612
            result.OnDisk = vectorOnDisk;
#pragma warning restore CS0612
        }

        if (vector.Datatype == "float32")
        {
            result.Datatype = P.Datatype.Float32;
        }

        return result;
    }

#pragma warning disable CS0612
    private static P.QuantizationConfig Quantization(QuantizationSettings settings)
    {
        switch (settings.Kind)
        {
            case QuantizationKind.Scalar:
                var scalar = new P.ScalarQuantization { Type = P.QuantizationType.Int8 };
                if (settings.Quantile is { } quantile)
                {
                    scalar.Quantile = quantile;
                }

                if (settings.AlwaysRam is { } ram)
                {
                    scalar.AlwaysRam = ram;
                }

                return new P.QuantizationConfig { Scalar = scalar };
            case QuantizationKind.Binary:
                var binary = new P.BinaryQuantization();
                if (settings.AlwaysRam is { } binaryRam)
                {
                    binary.AlwaysRam = binaryRam;
                }

                return new P.QuantizationConfig { Binary = binary };
            default:
                var product = new P.ProductQuantization
                {
                    Compression = settings.Compression switch
                    {
                        4 => P.CompressionRatio.X4,
                        8 => P.CompressionRatio.X8,
                        16 => P.CompressionRatio.X16,
                        32 => P.CompressionRatio.X32,
                        _ => P.CompressionRatio.X64,
                    },
                };
                if (settings.AlwaysRam is { } productRam)
                {
                    product.AlwaysRam = productRam;
                }

                return new P.QuantizationConfig { Product = product };
        }
    }
#pragma warning restore CS0612

    private static P.PayloadSchemaType SchemaType(PayloadSchemaType type) => type switch
    {
        PayloadSchemaType.Keyword => P.PayloadSchemaType.Keyword,
        PayloadSchemaType.Integer => P.PayloadSchemaType.Integer,
        PayloadSchemaType.Float => P.PayloadSchemaType.Float,
        PayloadSchemaType.Geo => P.PayloadSchemaType.Geo,
        PayloadSchemaType.Text => P.PayloadSchemaType.Text,
        PayloadSchemaType.Bool => P.PayloadSchemaType.Bool,
        PayloadSchemaType.Datetime => P.PayloadSchemaType.Datetime,
        _ => P.PayloadSchemaType.Uuid,
    };

    private static P.PayloadIndexParams? IndexParams(PayloadFieldSchema schema)
    {
        if (schema.Params is not { } p)
        {
            return null;
        }

#pragma warning disable CS0612
        switch (schema.Type)
        {
            case PayloadSchemaType.Keyword:
                var keyword = new P.KeywordIndexParams();
                if (p.IsTenant is { } tenant)
                {
                    keyword.IsTenant = tenant;
                }

                if (p.OnDisk is { } onDisk)
                {
                    keyword.OnDisk = onDisk;
                }

                return new P.PayloadIndexParams { KeywordIndexParams = keyword };
            case PayloadSchemaType.Integer:
                var integer = new P.IntegerIndexParams();
                if (p.Lookup is { } lookup)
                {
                    integer.Lookup = lookup;
                }

                if (p.Range is { } range)
                {
                    integer.Range = range;
                }

                if (p.IsPrincipal is { } principal)
                {
                    integer.IsPrincipal = principal;
                }

                return new P.PayloadIndexParams { IntegerIndexParams = integer };
            case PayloadSchemaType.Text when p.Text is { } text:
                var textParams = new P.TextIndexParams
                {
                    Tokenizer = text.Tokenizer switch
                    {
                        TokenizerKind.Prefix => P.TokenizerType.Prefix,
                        TokenizerKind.Whitespace => P.TokenizerType.Whitespace,
                        TokenizerKind.Multilingual => P.TokenizerType.Multilingual,
                        _ => P.TokenizerType.Word,
                    },
                };
                if (text.Lowercase is { } lowercase)
                {
                    textParams.Lowercase = lowercase;
                }

                if (text.MinTokenLength is { } min)
                {
                    textParams.MinTokenLen = (ulong)min;
                }

                if (text.MaxTokenLength is { } max)
                {
                    textParams.MaxTokenLen = (ulong)max;
                }

                if (text.Stopwords is { Count: > 0 } stopwords)
                {
                    textParams.Stopwords = new P.StopwordsSet();
                    textParams.Stopwords.Custom.Add(stopwords);
                }

                return new P.PayloadIndexParams { TextIndexParams = textParams };
            default:
                return null;
        }
#pragma warning restore CS0612
    }
}
