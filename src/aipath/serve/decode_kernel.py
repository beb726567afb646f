"""Decode attention read straight from the paged pool: a small C++ kernel, compiled on first use.

A decode step's attention is memory-bound: each sequence's keys and values are read once
and used by only ``heads / kv_heads`` queries. In torch that takes a gather of the blocks
into a contiguous copy (read + write), then two batched matmuls over the copy (read again)
and a softmax in between: about three times the bytes of the cache, in five operations per
layer. This kernel walks each sequence's block table and reads every key and value row once
for all the query heads of its kv head (AVX2: one pass over the keys for the scores, a
softmax, one pass over the values); (sequence, kv head) pairs are split over OpenMP threads.

Plain C++ without torch headers, built on first use by ``aipath.native``. Without g++,
AVX2, float32 or a head size that is a multiple of 8, ``usable()`` is False and the engine
keeps the torch path (``paged_attention.grouped_attention``), which the tests compare this
kernel with.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache

import torch

from aipath import native

SOURCE = r"""
#include <immintrin.h>
#include <cmath>
#include <vector>

namespace {
inline float dot(const float* a, const float* b, long d) {
    __m256 acc = _mm256_setzero_ps();
    for (long i = 0; i < d; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_hadd_ps(s, s);
    s = _mm_hadd_ps(s, s);
    return _mm_cvtss_f32(s);
}

inline void axpy(float a, const float* x, float* y, long d) {
    const __m256 va = _mm256_set1_ps(a);
    for (long i = 0; i < d; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
}
}  // namespace

// out[b, h] = softmax_j(scale * q[b, h] . k[b, j]) @ v[b, :] over the lens[b] keys of sequence b,
// key j living in slot j % bs of block tables[b, j / bs]; pools are [blocks][kv][bs][d], d % 8 == 0.
extern "C" void paged_decode_attention(const float* q, const float* k_pool, const float* v_pool, const long* tables,
                                       long max_blocks, const long* lens, long batch, long heads, long kv, long bs,
                                       long d, float scale, float* out, int threads) {
    const long group = heads / kv;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)  // dynamic: a shared CPU may pause a thread
    for (long p = 0; p < batch * kv; ++p) {
        const long b = p / kv, h = p % kv, n = lens[b];
        const long* table = tables + b * max_blocks;
        const float* qh = q + (b * heads + h * group) * d;
        float* oh = out + (b * heads + h * group) * d;
        std::vector<float> w(group * n);
        for (long j = 0; j < n; ++j) {
            const float* key = k_pool + ((table[j / bs] * kv + h) * bs + j % bs) * d;
            for (long g = 0; g < group; ++g) w[g * n + j] = scale * dot(qh + g * d, key, d);
        }
        for (long g = 0; g < group; ++g) {
            float* wg = w.data() + g * n;
            float top = wg[0], sum = 0.f;
            for (long j = 1; j < n; ++j) top = wg[j] > top ? wg[j] : top;
            for (long j = 0; j < n; ++j) sum += (wg[j] = std::exp(wg[j] - top));
            for (long j = 0; j < n; ++j) wg[j] /= sum;
            for (long i = 0; i < d; ++i) oh[g * d + i] = 0.f;
        }
        for (long j = 0; j < n; ++j) {
            const float* value = v_pool + ((table[j / bs] * kv + h) * bs + j % bs) * d;
            for (long g = 0; g < group; ++g) axpy(w[g * n + j], value, oh + g * d, d);
        }
    }
}
"""


@lru_cache(maxsize=1)
def load() -> ctypes.CDLL | None:
    """The compiled kernel, or None (with a warning saying why) where it cannot run here."""
    lib = native.load_library("paged_decode_attention", SOURCE, "decode attention uses torch's ops instead (same numbers, slower)")
    if lib is not None:
        c_long, ptr = ctypes.c_long, ctypes.c_void_p
        lib.paged_decode_attention.argtypes = [ptr, ptr, ptr, ptr, c_long, ptr, c_long, c_long, c_long, c_long, c_long, ctypes.c_float, ptr, ctypes.c_int]
        lib.paged_decode_attention.restype = None
    return lib


def usable(dtype: torch.dtype, device: torch.device, head_dim: int) -> bool:
    """Whether the kernel can serve a pool of this dtype, device and head size (compiling it if so)."""
    return dtype == torch.float32 and device.type == "cpu" and head_dim % 8 == 0 and load() is not None


def decode_attention(q: torch.Tensor, k_pool: torch.Tensor, v_pool: torch.Tensor, tables: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
    """One query per sequence: ``q`` (B, H, D) over one layer's pools (blocks, H_kv, block_size, D),
    ``tables`` (B, n) block ids and ``lens`` (B,) keys per sequence (int64); returns (B, H, D)."""
    lib = load()
    assert lib is not None and q.dtype == k_pool.dtype == torch.float32 and k_pool.is_contiguous() and v_pool.is_contiguous()
    assert tables.dtype == lens.dtype == torch.int64 and tables.is_contiguous() and lens.is_contiguous()
    q = q.contiguous()
    b, h, d = q.shape
    out = torch.empty_like(q)
    _, h_kv, size, _ = k_pool.shape
    lib.paged_decode_attention(q.data_ptr(), k_pool.data_ptr(), v_pool.data_ptr(), tables.data_ptr(), tables.shape[1], lens.data_ptr(),
                               b, h, h_kv, size, d, d**-0.5, out.data_ptr(), torch.get_num_threads())
    return out
