using System.Diagnostics;
using Vectorizer.Bench;
using Vectorizer.Engine.Index;
using Vectorizer.Engine.Vectors;

unsafe
{
    var name = args.Length > 0 ? args[0] : "glove-100-angular";
    var n = args.Length > 1 ? int.Parse(args[1]) : 100000;
    var threads = args.Length > 2 ? int.Parse(args[2]) : 1;
    var efc = args.Length > 3 ? int.Parse(args[3]) : 100;
    var m = args.Length > 4 ? int.Parse(args[4]) : 16;
    var dir = Path.Combine(Texmex.CacheDirectory(), name);
    var (data, rows, dim) = Texmex.ReadFvecs(Path.Combine(dir, "base.fvecs"), n);
    var (queries, qn, _) = Texmex.ReadFvecs(Path.Combine(dir, "query.fvecs"), 1000);
    var cosine = name.Contains("angular");
    var store = new DenseVectorStore(dim);
    for (var i = 0; i < rows; i++)
    {
        var v = data.AsSpan(i * dim, dim).ToArray();
        if (cosine) VectorKernels.Normalize(v);
        store.Append(v);
    }
    for (var i = 0; i < qn; i++) if (cosine) VectorKernels.Normalize(queries.AsSpan(i * dim, dim));

    var graph = new HnswGraph(m, efc);
    graph.EnsureCapacity(rows);
    var sw = Stopwatch.StartNew();
    var next = -1;
    var ts = new Thread[threads];
    for (var t = 0; t < threads; t++)
    {
        ts[t] = new Thread(() =>
        {
            var ctx = new SearchContext();
            int i;
            while ((i = Interlocked.Increment(ref next)) < rows)
            {
                if (cosine) { var s = new DenseScorer<DotMetric>(store, store.GetPointer(i)); graph.Insert(ref s, i, rows, ctx); }
                else { var s = new DenseScorer<EuclidMetric>(store, store.GetPointer(i)); graph.Insert(ref s, i, rows, ctx); }
            }
        });
        ts[t].Start();
    }
    foreach (var t in ts) t.Join();
    Console.WriteLine($"build {rows} x {dim} threads={threads}: {sw.Elapsed.TotalSeconds:F2}s");

    // exact ground truth on subset
    var gt = new int[qn][];
    var tmp = new ScoredNode[rows];
    fixed (float* qp = queries)
    {
        for (var q = 0; q < qn; q++)
        {
            for (var i = 0; i < rows; i++)
            {
                var d = cosine ? DotMetric.Distance(qp + q * dim, store.GetPointer(i), dim) : EuclidMetric.Distance(qp + q * dim, store.GetPointer(i), dim);
                tmp[i] = new ScoredNode(d, i);
            }
            Array.Sort(tmp, (a, b) => a.Distance.CompareTo(b.Distance));
            gt[q] = tmp.Take(10).Select(x => x.Node).ToArray();
        }
        var output = new ScoredNode[10];
        foreach (var ef in new[] { 64, 100, 128, 192, 256 })
        {
            var ctx = new SearchContext();
            var hits = 0;
            var filter = default(AcceptAllFilter);
            sw.Restart();
            for (var rep = 0; rep < 3; rep++)
            for (var q = 0; q < qn; q++)
            {
                int c;
                if (cosine) { var s = new DenseScorer<DotMetric>(store, qp + q * dim); c = graph.Search(ref s, ref filter, 10, ef, rows, output, ctx); }
                else { var s = new DenseScorer<EuclidMetric>(store, qp + q * dim); c = graph.Search(ref s, ref filter, 10, ef, rows, output, ctx); }
                if (rep == 0) for (var j = 0; j < c; j++) if (Array.IndexOf(gt[q], output[j].Node) >= 0) hits++;
            }
            var el = sw.Elapsed.TotalSeconds;
            Console.WriteLine($"ef={ef} recall={hits / (10.0 * qn):F4} qps={3 * qn / el:F0}");
        }
    }
}
