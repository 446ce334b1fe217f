// The kernels engine/csrc/cpu_kernels.cpp exports, for the other sources of the same library.
#pragma once
#include <cstdint>

extern "C" {
int gg_matmul_u4(const float* x, int64_t M, int64_t K, const uint8_t* codes, const float* scales, const float* mins,
                 int64_t N, float* y, int threads);
int gg_matmul_i8(const float* x, int64_t M, int64_t K, const int8_t* codes, const float* scales, int64_t N, float* y,
                 int threads);
void gg_attention_decode(const float* q, const float* kc, const float* vc, const int64_t* read, const int64_t* lens,
                         int64_t B, int64_t L, int64_t n_heads, int64_t n_kv, int64_t hd, float scale, float* out,
                         int threads);
}
