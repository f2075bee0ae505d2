using System.Buffers.Binary;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Index;

public sealed partial class HnswGraph
{
    private const ulong GraphMagic = 0x3130_5753_4E48_5A56UL; // "VZHNSW01" little-endian
    private const int GraphFormatVersion = OnDiskFormat.HnswGraph;

    /// <summary>
    /// Writes the links of nodes below <paramref name="nodeCount"/> (links to nodes at or above it are dropped).
    /// Inserts must be paused. Layout: header, then per node its level and each layer's neighbour list.
    /// </summary>
    public void Save(Stream stream, int nodeCount)
    {
        var header = new byte[48];
        BinaryPrimitives.WriteUInt64LittleEndian(header, GraphMagic);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), GraphFormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), M);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(16), EfConstruct);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(20), Seed);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(28), nodeCount);
        var packed = Volatile.Read(ref entry);
        if (packed >= 0 && (int)packed >= nodeCount)
        {
            packed = -1;
        }

        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(32), packed);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(40), InsertedCount);
        stream.Write(header);

        var buffer = new byte[4 * (M0 + 2) * (MaxLevel + 2)];
        var neighbors = new int[M0];
        for (var node = 0; node < nodeCount; node++)
        {
            var level = node < Capacity ? NodeLevel(node) : 0;
            var position = 0;
            buffer[position++] = (byte)level;
            for (var layer = 0; layer <= level; layer++)
            {
                var count = node < Capacity ? GetNeighbors(node, layer, neighbors) : 0;
                var countPosition = position;
                position += 2;
                var kept = 0;
                for (var i = 0; i < count; i++)
                {
                    if (neighbors[i] < nodeCount)
                    {
                        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(position), neighbors[i]);
                        position += 4;
                        kept++;
                    }
                }

                BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(countPosition), (ushort)kept);
            }

            stream.Write(buffer, 0, position);
        }
    }

    /// <summary>
    /// Reads a graph written by <see cref="Save"/>, with layer 0 in <paramref name="layer0"/> when it fits (see the
    /// constructor); the number of saved nodes is returned too. Bytes that are not such a graph throw
    /// <see cref="CorruptDataException"/> (a newer version <see cref="UnsupportedFormatException"/>), and nothing
    /// else: every count, level, link and the entry point is checked before it is used.
    /// </summary>
    public static (HnswGraph Graph, int NodeCount) Load(ReadOnlySpan<byte> data, Vectors.NodeArena? layer0 = null)
    {
        if (data.Length < 48 || BinaryPrimitives.ReadUInt64LittleEndian(data) != GraphMagic)
        {
            throw new CorruptDataException("Not an HNSW graph file");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(data[8..]);
        if (version != GraphFormatVersion)
        {
            throw version > GraphFormatVersion
                ? new UnsupportedFormatException($"HNSW graph format {version}; this Vectorizer reads format {GraphFormatVersion}")
                : new CorruptDataException($"HNSW graph format {version}");
        }

        var m = BinaryPrimitives.ReadInt32LittleEndian(data[12..]);
        var efConstruct = BinaryPrimitives.ReadInt32LittleEndian(data[16..]);
        var seed = BinaryPrimitives.ReadUInt64LittleEndian(data[20..]);
        var nodeCount = BinaryPrimitives.ReadInt32LittleEndian(data[28..]);
        var packed = BinaryPrimitives.ReadInt64LittleEndian(data[32..]);
        var inserted = BinaryPrimitives.ReadInt32LittleEndian(data[40..]);
        if (m is < 2 or > 512 || efConstruct is < 1 or > 1 << 24 || nodeCount < 0 || nodeCount > (data.Length - 48) / 3 || inserted < 0)
        {
            throw new CorruptDataException($"Corrupt HNSW graph header (m {m}, ef_construct {efConstruct}, {nodeCount} nodes)");
        }

        if (layer0 is { PayloadOwnerGrows: true } && layer0.Capacity < nodeCount)
        {
            throw new CorruptDataException($"Corrupt HNSW graph ({nodeCount} nodes, more than the {layer0.Capacity} vectors)");
        }

        var graph = new HnswGraph(m, efConstruct, seed, layer0);
        graph.EnsureCapacity(nodeCount);
        var position = 48;
        for (var node = 0; node < nodeCount; node++)
        {
            if (position >= data.Length)
            {
                throw new CorruptDataException("Corrupt HNSW graph (truncated)");
            }

            var level = data[position++];
            if (level > MaxLevel)
            {
                throw new CorruptDataException("Corrupt HNSW graph (level)");
            }

            if (level > 0)
            {
                graph.upper[node >> NodeChunkShift][node & NodeChunkMask] = new int[level * graph.upperStride];
            }

            for (var layer = 0; layer <= level; layer++)
            {
                if (data.Length - position < 2)
                {
                    throw new CorruptDataException("Corrupt HNSW graph (truncated)");
                }

                int count = BinaryPrimitives.ReadUInt16LittleEndian(data[position..]);
                position += 2;
                if (count > (layer == 0 ? graph.M0 : graph.M) || count > (data.Length - position) / 4)
                {
                    throw new CorruptDataException("Corrupt HNSW graph (link count)");
                }

                var links = graph.Links(node, layer);
                for (var i = 0; i < count; i++)
                {
                    var neighbor = BinaryPrimitives.ReadInt32LittleEndian(data[position..]);
                    if ((uint)neighbor >= (uint)nodeCount)
                    {
                        throw new CorruptDataException("Corrupt HNSW graph (neighbour id)");
                    }

                    links[1 + i] = neighbor;
                    position += 4;
                }

                links[0] = count;
            }
        }

        if (position != data.Length)
        {
            throw new CorruptDataException("Corrupt HNSW graph (bytes after the last node)");
        }

        // The entry point: none, or a saved node whose level is the one recorded (search descends from it).
        if (packed != -1 && (packed < 0 || (uint)(int)packed >= (uint)nodeCount || LevelOfEntry(packed) != graph.NodeLevel((int)packed)))
        {
            throw new CorruptDataException("Corrupt HNSW graph (entry point)");
        }

        graph.entry = packed;
        graph.insertedCount = inserted;
        return (graph, nodeCount);
    }
}
