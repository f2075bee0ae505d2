namespace Vectorizer.Bench;

/// <summary>Results of a peer engine (hnswlib, FAISS) run on the same data.</summary>
public sealed record PeerRun(string Engine, BuildResult? Build, List<AnnResult> Results);

/// <summary>Peer engines. Filled in by the benchmark issue (hnswlib C++ driver, FAISS through Debian's python3-faiss).</summary>
public static class Peers
{
    public static IEnumerable<PeerRun> Run(Dataset dataset, AnnOptions options, TextWriter log)
    {
        log.WriteLine("peers: not run (not implemented yet)");
        return [];
    }
}
