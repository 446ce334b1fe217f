// One decoder layer for a batch of rows that each decode one token, in a single call: on two cores a decode
// step of the default model is about 9 ms of products, and the thirty-odd small torch operators a layer around
// them (norms, rotary embeddings, slicing, the cache writes, SiLU, residual adds) cost as much again in
// dispatch alone. Here they are plain loops between the packed products.
//
// The layer is engine.model.TransformerBlock: x += wo(attention(rope(wqkv(norm(x))))), then
// x += w2(silu(gate) * up) with [gate, up] = w13(norm(x)). Its numbers are float32 throughout; only the order
// of some sums differs from torch's.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "cpu_kernels.h"

namespace {

struct Matrix {  // a packed matrix (engine.kernels.PackedMatrix): mins null for 8-bit codes
    const void* codes;
    const float* scales;
    const float* mins;
    int64_t n, k;
};

int multiply(const Matrix& w, const float* x, int64_t M, float* y, int threads) {
    if (w.mins == nullptr)
        return gg_matmul_i8(x, M, w.k, static_cast<const int8_t*>(w.codes), w.scales, w.n, y, threads);
    return gg_matmul_u4(x, M, w.k, static_cast<const uint8_t*>(w.codes), w.scales, w.mins, w.n, y, threads);
}

// out[b] = x[b] / sqrt(mean(x[b]^2) + eps) * weight
void rms_norm(const float* x, const float* weight, float eps, int64_t B, int64_t D, float* out) {
    for (int64_t b = 0; b < B; b++) {
        const float* xb = x + b * D;
        float squares = 0;
        for (int64_t i = 0; i < D; i++) squares += xb[i] * xb[i];
        const float inv = 1 / std::sqrt(squares / float(D) + eps);
        for (int64_t i = 0; i < D; i++) out[b * D + i] = xb[i] * inv * weight[i];
    }
}

}  // namespace

extern "C" {

struct gg_layer {
    const float* attention_norm;
    const float* ffn_norm;
    Matrix wqkv, wo, w13, w2;
    float eps;
    int64_t dim, n_heads, n_kv, head_dim, ffn_dim;
};

// x [B, dim] (updated in place) through one layer. cos and sin [B, head_dim] (sin's first half negated, as
// engine.model.rope_tables folds it); the caches [slots, n_kv, head_dim]; write [B] the slot each row's new key
// and value go to; read [B, L] and lens [B] what each row attends to (engine.paged_cache.KVView).
int gg_decode_layer(const gg_layer* layer, float* x, int64_t B, const float* cos, const float* sin, float* kc,
                    float* vc, const int64_t* write, const int64_t* read, const int64_t* lens, int64_t L,
                    int threads) {
    const gg_layer& w = *layer;
    const int64_t D = w.dim, hd = w.head_dim, half = hd / 2, F = w.ffn_dim;
    const int64_t heads = w.n_heads + 2 * w.n_kv, width = heads * hd;
    thread_local std::vector<float> normed, qkv, q, attended, out, gate_up, act;
    normed.resize(B * D), qkv.resize(B * width), q.resize(B * w.n_heads * hd), attended.resize(B * w.n_heads * hd);
    out.resize(B * D), gate_up.resize(B * 2 * F), act.resize(B * F);

    rms_norm(x, w.attention_norm, w.eps, B, D, normed.data());
    if (int status = multiply(w.wqkv, normed.data(), B, qkv.data(), threads)) return status;
    for (int64_t b = 0; b < B; b++) {  // rotate the queries into q [B, n_heads, hd] and the keys into the cache
        const float *row = qkv.data() + b * width, *c = cos + b * hd, *s = sin + b * hd;
        float* key_slot = kc + write[b] * w.n_kv * hd;
        for (int64_t h = 0; h < w.n_heads + w.n_kv; h++) {  // x * cos + roll(x, hd / 2) * sin
            const float* v = row + h * hd;
            float* to = h < w.n_heads ? q.data() + (b * w.n_heads + h) * hd : key_slot + (h - w.n_heads) * hd;
            for (int64_t i = 0; i < half; i++) to[i] = v[i] * c[i] + v[i + half] * s[i];
            for (int64_t i = half; i < hd; i++) to[i] = v[i] * c[i] + v[i - half] * s[i];
        }
        std::copy(row + (w.n_heads + w.n_kv) * hd, row + width, vc + write[b] * w.n_kv * hd);
    }
    gg_attention_decode(q.data(), kc, vc, read, lens, B, L, w.n_heads, w.n_kv, hd, 1 / std::sqrt(float(hd)),
                        attended.data(), threads);
    if (int status = multiply(w.wo, attended.data(), B, out.data(), threads)) return status;
    for (int64_t i = 0; i < B * D; i++) x[i] += out[i];

    rms_norm(x, w.ffn_norm, w.eps, B, D, normed.data());
    if (int status = multiply(w.w13, normed.data(), B, gate_up.data(), threads)) return status;
    const float* gu = gate_up.data();  // the buffers are this thread's: the team below reaches them by address
    float* a = act.data();
#pragma omp parallel for num_threads(threads) schedule(static) if (B * F > 16384)
    for (int64_t b = 0; b < B; b++) {  // silu(gate) * up, with [gate, up] = gu[b]
        const float *gate = gu + b * 2 * F, *up = gate + F;
        for (int64_t j = 0; j < F; j++) a[b * F + j] = gate[j] / (1 + std::exp(-gate[j])) * up[j];
    }
    if (int status = multiply(w.w2, act.data(), B, out.data(), threads)) return status;
    for (int64_t i = 0; i < B * D; i++) x[i] += out[i];
    return 0;
}

}  // extern "C"
