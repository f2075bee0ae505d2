// hnswlib reference driver for the Vectorizer ANN benchmark.
// Built by the benchmark with Debian's libhnswlib-dev headers:
//   g++ -O3 -march=native -std=c++17 -I/usr/include/hnswlib -o hnswlib_driver hnswlib_driver.cpp -lpthread
// Usage:
//   hnswlib_driver BASE.fvecs QUERY.fvecs l2|angular M EF_CONSTRUCT BUILD_THREADS(comma list) EF_LIST(comma list) MAX_BASE MAX_QUERIES K IDS_DIR [INDEX_FILE [ROUNDS]]
// With INDEX_FILE, an index saved there earlier is loaded instead of built (no BUILD line), or the built one is saved.
// ROUNDS repeats the query measurements (one RESULT line per ef and round).
// Prints "BUILD threads=.. seconds=.. peak_rss=.. index_bytes=.." per build and
// "RESULT ef=.. qps=.. p50_ms=.. p99_ms=.. ids=FILE" per ef; ids are written one query per line (0-based rows).
#include <hnswlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <time.h>
#include <vector>

static std::vector<float> read_fvecs(const std::string& path, size_t max_rows, size_t& rows, size_t& dim) {
    std::ifstream in(path, std::ios::binary);
    if (!in) { std::fprintf(stderr, "cannot open %s\n", path.c_str()); std::exit(2); }
    int32_t d = 0;
    in.read(reinterpret_cast<char*>(&d), 4);
    dim = static_cast<size_t>(d);
    in.seekg(0, std::ios::end);
    size_t total = static_cast<size_t>(in.tellg()) / (4 + 4 * dim);
    rows = std::min(total, max_rows);
    in.seekg(0);
    std::vector<float> data(rows * dim);
    for (size_t r = 0; r < rows; r++) {
        in.read(reinterpret_cast<char*>(&d), 4);
        in.read(reinterpret_cast<char*>(&data[r * dim]), 4 * dim);
    }
    return data;
}

static void normalize(std::vector<float>& data, size_t rows, size_t dim) {
    for (size_t r = 0; r < rows; r++) {
        double s = 0;
        for (size_t i = 0; i < dim; i++) s += double(data[r * dim + i]) * data[r * dim + i];
        float n = static_cast<float>(std::sqrt(s));
        if (n > 0) for (size_t i = 0; i < dim; i++) data[r * dim + i] /= n;
    }
}

// CPU time of the calling thread: steadier than wall time on a machine shared with other work.
static double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static std::vector<int> parse_list(const std::string& text) {
    std::vector<int> values;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) values.push_back(std::stoi(item));
    return values;
}

// CPU time of the whole process (all threads), user + system: a build's work, whatever the machine's load.
static double process_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// VmHWM from /proc/self/status: unlike getrusage's ru_maxrss it is not inherited from the parent across exec.
static long peak_rss_bytes() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6) * 1024L;
    }
    return 0;
}

int main(int argc, char** argv) {
    if (argc < 12) {
        std::fprintf(stderr, "usage: %s BASE QUERY l2|angular M EF_CONSTRUCT THREADS EFS MAX_BASE MAX_QUERIES K IDS_DIR\n", argv[0]);
        return 2;
    }
    std::string metric = argv[3];
    int m = std::atoi(argv[4]);
    int ef_construct = std::atoi(argv[5]);
    std::vector<int> build_threads = parse_list(argv[6]);
    std::vector<int> efs = parse_list(argv[7]);
    size_t max_base = std::strtoull(argv[8], nullptr, 10);
    size_t max_queries = std::strtoull(argv[9], nullptr, 10);
    size_t k = std::strtoull(argv[10], nullptr, 10);
    std::string ids_dir = argv[11];
    std::string index_file = argc > 12 ? argv[12] : "";
    int rounds = argc > 13 ? std::atoi(argv[13]) : 1;

    size_t n = 0, nq = 0, dim = 0, qdim = 0;
    std::vector<float> base = read_fvecs(argv[1], max_base, n, dim);
    std::vector<float> queries = read_fvecs(argv[2], max_queries, nq, qdim);
    bool angular = metric == "angular";
    if (angular) { normalize(base, n, dim); normalize(queries, nq, dim); }
    std::unique_ptr<hnswlib::SpaceInterface<float>> space;
    if (angular) space.reset(new hnswlib::InnerProductSpace(dim)); else space.reset(new hnswlib::L2Space(dim));

    std::unique_ptr<hnswlib::HierarchicalNSW<float>> index;
    bool loaded = false;
    if (!index_file.empty()) {
        std::ifstream probe(index_file, std::ios::binary);
        if (probe.good()) {
            index.reset(new hnswlib::HierarchicalNSW<float>(space.get(), index_file, false, n));
            loaded = true;
        }
    }
    for (int threads : loaded ? std::vector<int>() : build_threads) {
        index.reset();
        index.reset(new hnswlib::HierarchicalNSW<float>(space.get(), n, m, ef_construct, 100));
        auto start = std::chrono::steady_clock::now();
        double cpu_start = process_cpu_seconds();
        index->addPoint(base.data(), 0);
        std::atomic<size_t> next(1);
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; t++) {
            workers.emplace_back([&]() {
                size_t i;
                while ((i = next.fetch_add(1)) < n) index->addPoint(base.data() + i * dim, i);
            });
        }
        for (auto& w : workers) w.join();
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        size_t bytes = index->max_elements_ * index->size_data_per_element_;
        for (size_t i = 0; i < n; i++) bytes += index->element_levels_[i] * index->size_links_per_element_;
        std::printf("BUILD threads=%d seconds=%.3f peak_rss=%ld index_bytes=%zu cpu_seconds=%.3f\n", threads, seconds, peak_rss_bytes(), bytes, process_cpu_seconds() - cpu_start);
        std::fflush(stdout);
    }

    if (!loaded && !index_file.empty()) index->saveIndex(index_file);

    // Warm up with the largest ef, as the other engines do.
    index->setEf(efs.back());
    for (size_t q = 0; q < std::min<size_t>(nq, 500); q++) index->searchKnn(queries.data() + q * dim, k);

    for (int round = 0; round < rounds; round++)
    for (int ef : efs) {
        index->setEf(ef);
        std::vector<double> latencies(nq);
        std::vector<std::vector<size_t>> ids(nq);
        double cpu_start = thread_cpu_seconds();
        auto all = std::chrono::steady_clock::now();
        for (size_t q = 0; q < nq; q++) {
            auto start = std::chrono::steady_clock::now();
            auto result = index->searchKnn(queries.data() + q * dim, k);
            latencies[q] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
            std::vector<size_t> row(result.size());
            for (size_t i = row.size(); i > 0; i--) { row[i - 1] = result.top().second; result.pop(); }
            ids[q] = std::move(row);
        }
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - all).count();
        double cpu_seconds = thread_cpu_seconds() - cpu_start;
        std::sort(latencies.begin(), latencies.end());
        auto pct = [&](double p) {
            double rank = p / 100.0 * (latencies.size() - 1);
            size_t lo = static_cast<size_t>(std::floor(rank)), hi = static_cast<size_t>(std::ceil(rank));
            return latencies[lo] + (latencies[hi] - latencies[lo]) * (rank - lo);
        };
        std::string path = ids_dir + "/hnswlib-ef" + std::to_string(ef) + ".txt";
        std::ofstream out(path);
        for (auto& row : ids) {
            for (size_t i = 0; i < row.size(); i++) out << (i ? " " : "") << row[i];
            out << "\n";
        }
        std::printf("RESULT ef=%d round=%d qps=%.1f p50_ms=%.4f p99_ms=%.4f ids=%s cpu_qps=%.1f\n", ef, round, nq / seconds, pct(50), pct(99), path.c_str(), nq / cpu_seconds);
        std::fflush(stdout);
    }
    return 0;
}
