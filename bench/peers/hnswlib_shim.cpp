// hnswlib as a shared library, for `bench ann-duel`: the benchmark loads an index saved by hnswlib_driver and
// calls searchKnn in the same process as our engine, alternating small blocks of queries between the two.
// Built by the benchmark with Debian's libhnswlib-dev headers:
//   g++ -O3 -march=native -std=c++17 -shared -fPIC -I/usr/include/hnswlib -o libhnswlib_shim.so hnswlib_shim.cpp
#include <hnswlib.h>

#include <memory>

namespace {
struct Handle {
    std::unique_ptr<hnswlib::SpaceInterface<float>> space;
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> index;
};
}

extern "C" {

// Loads an index written by HierarchicalNSW::saveIndex; angular indexes hold normalised vectors (inner product).
void* hn_load(const char* path, int dim, int angular, unsigned long max_elements) {
    auto handle = new Handle();
    if (angular) handle->space.reset(new hnswlib::InnerProductSpace(dim));
    else handle->space.reset(new hnswlib::L2Space(dim));
    handle->index.reset(new hnswlib::HierarchicalNSW<float>(handle->space.get(), path, false, max_elements));
    return handle;
}

void hn_set_ef(void* h, int ef) { static_cast<Handle*>(h)->index->setEf(ef); }

// Writes up to k labels, closest first; returns how many.
int hn_search(void* h, const float* query, int k, long* labels) {
    auto result = static_cast<Handle*>(h)->index->searchKnn(query, k);
    int n = static_cast<int>(result.size());
    for (int i = n - 1; i >= 0; i--) {
        labels[i] = static_cast<long>(result.top().second);
        result.pop();
    }
    return n;
}

void hn_free(void* h) { delete static_cast<Handle*>(h); }
}
