// oneDNN 2.x against 3.x on the convolutions and matrix products of SD 1.5 at 512² (issue 17, item 4).
// Built twice by bench-onednn.sh: against Debian's libdnnl-dev (2.6.3) and PyPI's onednn-devel (3.x).
// Each case runs f32 and bf16 (bf16 inputs, weights and outputs; the library accumulates in f32),
// with layouts chosen by the library (format_tag::any) and weights reordered once, outside the timing,
// as an engine that prepares weights at load would. Prints one line per case: median milliseconds.
#include <dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

static double median_ms(const std::vector<double>& times) {
    std::vector<double> sorted = times;
    std::sort(sorted.begin(), sorted.end());
    return sorted[sorted.size() / 2];
}

template <typename Run>
static double time_it(Run run, int repeats) {
    run();  // warm-up: first-touch allocation and kernel generation
    std::vector<double> times;
    for (int i = 0; i < repeats; ++i) {
        auto start = std::chrono::steady_clock::now();
        run();
        times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    return median_ms(times);
}

static void fill(memory& m) {
    // Small values, the same for f32 and bf16 runs; contents do not change the time.
    auto* bytes = static_cast<unsigned char*>(m.get_data_handle());
    size_t size = m.get_desc().get_size();
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<unsigned char>((i * 37) & 0x3f);
}

static double conv(engine& eng, stream& s, dt type, int n, int c_in, int c_out, int h, int w, int repeats) {
    memory::dims src_dims = {n, c_in, h, w}, wei_dims = {c_out, c_in, 3, 3}, dst_dims = {n, c_out, h, w};
    memory::desc src_any(src_dims, type, tag::any), wei_any(wei_dims, type, tag::any), dst_any(dst_dims, type, tag::any);
    memory::desc bias_md({c_out}, dt::f32, tag::a);
#if DNNL_VERSION_MAJOR >= 3
    convolution_forward::primitive_desc pd(eng, prop_kind::forward_inference, algorithm::convolution_direct, src_any, wei_any, bias_md,
                                           dst_any, {1, 1}, {1, 1}, {1, 1});
#else
    convolution_forward::desc d(prop_kind::forward_inference, algorithm::convolution_direct, src_any, wei_any, bias_md, dst_any,
                                {1, 1}, {1, 1}, {1, 1});
    convolution_forward::primitive_desc pd(d, eng);
#endif
    memory src(pd.src_desc(), eng), wei(pd.weights_desc(), eng), bias(bias_md, eng), dst(pd.dst_desc(), eng);
    fill(src); fill(wei); fill(bias);
    convolution_forward prim(pd);
    return time_it([&] {
        prim.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}});
        s.wait();
    }, repeats);
}

static double matmul_case(engine& eng, stream& s, dt type, int batch, int m, int k, int n, int repeats) {
    memory::desc a_md({batch, m, k}, type, tag::abc), b_md({batch, k, n}, type, tag::any), c_md({batch, m, n}, type, tag::abc);
#if DNNL_VERSION_MAJOR >= 3
    matmul::primitive_desc pd(eng, a_md, b_md, c_md);
#else
    matmul::desc d(a_md, b_md, c_md);
    matmul::primitive_desc pd(d, eng);
#endif
    memory a(pd.src_desc(), eng), b(pd.weights_desc(), eng), c(pd.dst_desc(), eng);
    fill(a); fill(b);
    matmul prim(pd);
    return time_it([&] {
        prim.execute(s, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
        s.wait();
    }, repeats);
}

int main() {
    engine eng(engine::kind::cpu, 0);
    stream s(eng);
    const dnnl_version_t* version = dnnl_version();
    std::printf("oneDNN %d.%d.%d (%s)\n", version->major, version->minor, version->patch, version->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "TBB/other");
    struct Conv { const char* name; int n, c_in, c_out, h, w; };
    const Conv convs[] = {
        {"unet conv3x3 320ch 64x64 (batch 2)", 2, 320, 320, 64, 64},
        {"unet conv3x3 640ch 32x32 (batch 2)", 2, 640, 640, 32, 32},
        {"unet conv3x3 1280ch 16x16 (batch 2)", 2, 1280, 1280, 16, 16},
        {"vae conv3x3 512ch 128x128", 1, 512, 512, 128, 128},
        {"vae conv3x3 256ch 256x256", 1, 256, 256, 256, 256},
    };
    struct Mm { const char* name; int batch, m, k, n; };
    const Mm mms[] = {
        {"linear 8192x320 . 320x320", 1, 8192, 320, 320},
        {"feed-forward 8192x320 . 320x2560", 1, 8192, 320, 2560},
        {"attention scores 16x(4096x40 . 40x4096)", 16, 4096, 40, 4096},
        {"attention values 16x(4096x4096 . 4096x40)", 16, 4096, 4096, 40},
    };
    for (const Conv& c : convs) {
        double f32 = conv(eng, s, dt::f32, c.n, c.c_in, c.c_out, c.h, c.w, 5);
        double bf16 = conv(eng, s, dt::bf16, c.n, c.c_in, c.c_out, c.h, c.w, 5);
        std::printf("%-44s f32 %8.1f ms  bf16 %8.1f ms\n", c.name, f32, bf16);
    }
    for (const Mm& m : mms) {
        double f32 = matmul_case(eng, s, dt::f32, m.batch, m.m, m.k, m.n, 5);
        double bf16 = matmul_case(eng, s, dt::bf16, m.batch, m.m, m.k, m.n, 5);
        std::printf("%-44s f32 %8.1f ms  bf16 %8.1f ms\n", m.name, f32, bf16);
    }
    return 0;
}
