// The engine's CPU kernels: products with packed weights, and decode attention over the paged cache.
//
// y[M, N] = x[M, K] @ W[N, K]^T in float32, with W held packed in blocks of 32 along K.
//
// u4: w = scale * q + min, q in 0..15; a block's 16 bytes hold element j in the low nibble of byte j and
//     element j + 16 in its high nibble (GGUF's Q4_0 and Q4_1 order; Q4_0 is min = -8 * scale).
// i8: w = scale * q, q in -128..127 (GGUF's Q8_0).
// scale and min are float32, one a block. Each weight is rebuilt with one fused multiply-add, exact for codes
// of at most 8 bits and scales of at most 16 significant bits (GGUF's are float16): the weights multiplied are
// the very float32 numbers a dense dequantisation gives; only the order of the sums differs.
//
// A weight block is rebuilt once in registers and used for up to eight rows of x. Output rows are handed out
// to threads in small chunks, dynamically, so a thread whose core another process holds takes fewer chunks
// instead of holding the others up.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cpu_kernels.h"
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define GG_AVX2 1
#endif

namespace {

constexpr int64_t BLOCK = 32;
constexpr int MG = 8;  // rows of x a rebuilt block serves before the next block
constexpr int64_t NT = 32;  // output rows a thread takes at a time

struct U4 {
    const uint8_t* codes;
    const float* scales;
    const float* mins;
    int64_t K;
#if GG_AVX2
    inline void block(int64_t n, int64_t b, __m256 w[4]) const {
        const uint8_t* c = codes + n * (K / 2) + b * 16;
        const float* s = scales + n * (K / BLOCK) + b;
        // bytes 0-7 and 8-15 widened to 32 bits each; the low nibbles are elements 0-15, the high ones 16-31
        __m256i a = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(c)));
        __m256i b8 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(c + 8)));
        const __m256i mask = _mm256_set1_epi32(0x0F);
        __m256 d = _mm256_broadcast_ss(s), m = _mm256_broadcast_ss(mins + (s - scales));
        w[0] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_and_si256(a, mask)), m);
        w[1] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_and_si256(b8, mask)), m);
        w[2] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_srli_epi32(a, 4)), m);
        w[3] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_srli_epi32(b8, 4)), m);
    }
#endif
    inline void block(int64_t n, int64_t b, float w[BLOCK]) const {
        const uint8_t* c = codes + n * (K / 2) + b * 16;
        float d = scales[n * (K / BLOCK) + b], m = mins[n * (K / BLOCK) + b];
        for (int j = 0; j < 16; j++) {
            w[j] = __builtin_fmaf(d, float(c[j] & 15), m);
            w[j + 16] = __builtin_fmaf(d, float(c[j] >> 4), m);
        }
    }
};

struct I8 {
    const int8_t* codes;
    const float* scales;
    int64_t K;
#if GG_AVX2
    inline void block(int64_t n, int64_t b, __m256 w[4]) const {
        const int8_t* c = codes + n * K + b * BLOCK;
        __m256 d = _mm256_broadcast_ss(scales + n * (K / BLOCK) + b);
        for (int j = 0; j < 4; j++) {
            __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(c + 8 * j));
            w[j] = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)));
        }
    }
#endif
    inline void block(int64_t n, int64_t b, float w[BLOCK]) const {
        const int8_t* c = codes + n * K + b * BLOCK;
        float d = scales[n * (K / BLOCK) + b];
        for (int j = 0; j < BLOCK; j++) w[j] = d * float(c[j]);
    }
};

#if GG_AVX2
inline float hsum(__m256 a) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}
#endif

// y[m0..m0+R, n] for one output row n and R (<= MG) rows of x.
template <int R, class W>
inline void row(const W& w, const float* x, int64_t m0, int64_t n, float* y, int64_t N) {
    const int64_t K = w.K;
#if GG_AVX2
    constexpr int A = R <= 2 ? 4 : R <= 4 ? 2 : 1;  // independent sums a row: enough to hide the FMA's latency
    __m256 acc[R][A];
    for (int r = 0; r < R; r++)
        for (int a = 0; a < A; a++) acc[r][a] = _mm256_setzero_ps();
    for (int64_t b = 0; b < K / BLOCK; b++) {
        __m256 wb[4];
        w.block(n, b, wb);
        for (int r = 0; r < R; r++) {
            const float* xr = x + (m0 + r) * K + b * BLOCK;
            for (int j = 0; j < 4; j++)
                acc[r][j % A] = _mm256_fmadd_ps(wb[j], _mm256_loadu_ps(xr + 8 * j), acc[r][j % A]);
        }
    }
    for (int r = 0; r < R; r++) {
        __m256 t = acc[r][0];
        for (int a = 1; a < A; a++) t = _mm256_add_ps(t, acc[r][a]);
        y[(m0 + r) * N + n] = hsum(t);
    }
#else
    float acc[R][8] = {};
    for (int64_t b = 0; b < K / BLOCK; b++) {
        float wb[BLOCK];
        w.block(n, b, wb);
        for (int r = 0; r < R; r++)
            for (int j = 0; j < BLOCK; j++) acc[r][j % 8] += wb[j] * x[(m0 + r) * K + b * BLOCK + j];
    }
    for (int r = 0; r < R; r++) {
        float t = 0;
        for (int l = 0; l < 8; l++) t += acc[r][l];
        y[(m0 + r) * N + n] = t;
    }
#endif
}

template <class W>
void rows(const W& w, const float* x, int64_t m, int r, int64_t n0, int64_t n1, float* y, int64_t N) {
    for (int64_t n = n0; n < n1; n++) switch (r) {
            case 8: row<8>(w, x, m, n, y, N); break;
            case 7: row<7>(w, x, m, n, y, N); break;
            case 6: row<6>(w, x, m, n, y, N); break;
            case 5: row<5>(w, x, m, n, y, N); break;
            case 4: row<4>(w, x, m, n, y, N); break;
            case 3: row<3>(w, x, m, n, y, N); break;
            case 2: row<2>(w, x, m, n, y, N); break;
            case 1: row<1>(w, x, m, n, y, N); break;
        }
}

// Threads take NT output rows at a time; for each, the rows of x pass MG at a time, so the MG rows stay in the
// nearest cache while the NT rows' blocks are rebuilt once for every MG rows of x.
template <class W>
int matmul(const W& w, const float* x, int64_t M, int64_t N, float* y, int threads) {
    if (w.K % BLOCK) return 1;
    int64_t tiles = (N + NT - 1) / NT;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int64_t t = 0; t < tiles; t++) {
        int64_t n0 = t * NT, n1 = n0 + NT < N ? n0 + NT : N;
        for (int64_t m = 0; m < M; m += MG) rows(w, x, m, int(M - m < MG ? M - m : MG), n0, n1, y, N);
    }
    return 0;
}

}  // namespace

extern "C" {

int gg_matmul_u4(const float* x, int64_t M, int64_t K, const uint8_t* codes, const float* scales, const float* mins,
                 int64_t N, float* y, int threads) {
    return matmul(U4{codes, scales, mins, K}, x, M, N, y, threads);
}

int gg_matmul_i8(const float* x, int64_t M, int64_t K, const int8_t* codes, const float* scales, int64_t N, float* y,
                 int threads) {
    return matmul(I8{codes, scales, K}, x, M, N, y, threads);
}

// Attention of one new token per row over its cached keys and values, read in place through the rows' slot
// lists (no gathered copy): out[b, h] = softmax(q[b, h] . k[slot, g] * scale) . v[slot, g] over the row's
// first lens[b] slots, with g = h / (n_heads / n_kv_heads). The softmax is computed in float32.
void gg_attention_decode(const float* q, const float* kc, const float* vc, const int64_t* read, const int64_t* lens,
                         int64_t B, int64_t L, int64_t n_heads, int64_t n_kv, int64_t hd, float scale, float* out,
                         int threads) {
    const int64_t group = n_heads / n_kv;
#pragma omp parallel num_threads(threads)
    {
        std::vector<float> s(L);
#pragma omp for schedule(static)
        for (int64_t bh = 0; bh < B * n_heads; bh++) {
            const int64_t b = bh / n_heads, g = (bh % n_heads) / group, n = lens[b];
            const float* qv = q + bh * hd;
            float top = -INFINITY;
            for (int64_t j = 0; j < n; j++) {
                const float* kv = kc + (read[b * L + j] * n_kv + g) * hd;
                float dot = 0;
#if GG_AVX2
                if (hd % 8 == 0) {
                    __m256 acc = _mm256_setzero_ps();
                    for (int64_t i = 0; i < hd; i += 8)
                        acc = _mm256_fmadd_ps(_mm256_loadu_ps(qv + i), _mm256_loadu_ps(kv + i), acc);
                    dot = hsum(acc);
                } else
#endif
                    for (int64_t i = 0; i < hd; i++) dot += qv[i] * kv[i];
                s[j] = dot * scale;
                top = s[j] > top ? s[j] : top;
            }
            float total = 0;
            for (int64_t j = 0; j < n; j++) total += (s[j] = std::exp(s[j] - top));
            float* o = out + bh * hd;
            std::memset(o, 0, hd * sizeof(float));
            for (int64_t j = 0; j < n; j++) {
                const float* vv = vc + (read[b * L + j] * n_kv + g) * hd;
                const float p = s[j] / total;
                for (int64_t i = 0; i < hd; i++) o[i] += p * vv[i];
            }
        }
    }
}

}  // extern "C"
