#!/usr/bin/python3
"""FAISS IndexHNSWFlat driver for the Vectorizer ANN benchmark (Debian's python3-faiss; run with /usr/bin/python3).

Usage: faiss_driver.py BASE QUERY l2|angular M EF_CONSTRUCT BUILD_THREADS EFS MAX_BASE MAX_QUERIES K IDS_DIR [INDEX_FILE [ROUNDS]]
Same output protocol as hnswlib_driver: "BUILD ..." per build, "RESULT ..." per ef and round; ids files as text.
Only the search call is timed: one query per call, one OpenMP thread.
"""
import sys
import time

import faiss
import numpy as np


def read_fvecs(path, max_rows):
    raw = np.fromfile(path, dtype=np.int32)
    dim = int(raw[0])
    rows = raw.reshape(-1, dim + 1)[:max_rows, 1:]
    return np.ascontiguousarray(rows.view(np.float32))


def peak_rss_bytes():
    """VmHWM: unlike ru_maxrss it is not inherited from the parent process across exec."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def main(argv):
    base_path, query_path, metric = argv[1], argv[2], argv[3]
    m, ef_construct = int(argv[4]), int(argv[5])
    build_threads = [int(x) for x in argv[6].split(",")]
    efs = [int(x) for x in argv[7].split(",")]
    max_base, max_queries, k = int(argv[8]), int(argv[9]), int(argv[10])
    ids_dir = argv[11]
    index_file = argv[12] if len(argv) > 12 else ""
    rounds = int(argv[13]) if len(argv) > 13 else 1

    base = read_fvecs(base_path, max_base)
    queries = read_fvecs(query_path, max_queries)
    angular = metric == "angular"
    if angular:
        faiss.normalize_L2(base)
        faiss.normalize_L2(queries)
    faiss_metric = faiss.METRIC_INNER_PRODUCT if angular else faiss.METRIC_L2

    index = None
    if index_file:
        try:
            index = faiss.read_index(index_file)
        except RuntimeError:
            index = None
    if index is None:
        for threads in build_threads:
            index = None
            faiss.omp_set_num_threads(threads)
            index = faiss.IndexHNSWFlat(base.shape[1], m, faiss_metric)
            index.hnsw.efConstruction = ef_construct
            start = time.perf_counter()
            index.add(base)
            seconds = time.perf_counter() - start
            peak = peak_rss_bytes()
            size = faiss.serialize_index(index).nbytes
            print(f"BUILD threads={threads} seconds={seconds:.3f} peak_rss={peak} index_bytes={size}", flush=True)
        if index_file:
            faiss.write_index(index, index_file)

    faiss.omp_set_num_threads(1)
    index.hnsw.efSearch = efs[-1]
    for q in range(min(500, len(queries))):
        index.search(queries[q:q + 1], k)

    for round_ in range(rounds):
        for ef in efs:
            index.hnsw.efSearch = ef
            latencies = np.empty(len(queries))
            ids = np.empty((len(queries), k), dtype=np.int64)
            for q in range(len(queries)):
                one = queries[q:q + 1]
                start = time.perf_counter()
                _, found = index.search(one, k)
                latencies[q] = time.perf_counter() - start
                ids[q] = found[0]
            path = f"{ids_dir}/faiss-ef{ef}.txt"
            with open(path, "w") as out:
                for row in ids:
                    out.write(" ".join(str(int(x)) for x in row if x >= 0) + "\n")
            qps = len(queries) / latencies.sum()
            p50, p99 = np.percentile(latencies * 1000, [50, 99])
            print(f"RESULT ef={ef} round={round_} qps={qps:.1f} p50_ms={p50:.4f} p99_ms={p99:.4f} ids={path}", flush=True)


if __name__ == "__main__":
    main(sys.argv)
