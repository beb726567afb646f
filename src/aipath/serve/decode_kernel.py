"""Decode attention read straight from the paged pool: a small C++ kernel, compiled on first use.

A decode step's attention is memory-bound: each sequence's keys and values are read once
and used by only ``heads / kv_heads`` queries. In torch that takes a gather of the blocks
into a contiguous copy (read + write), then two batched matmuls over the copy (read again)
and a softmax in between: about three times the bytes of the cache, in five operations per
layer. This kernel walks each sequence's block table and reads every key and value row once
for all the query heads of its kv head (AVX2: one pass over the keys for the scores, eight
keys per reduction; a vectorised softmax; one pass over the values with every query head's
output in registers); (sequence, kv head) pairs are split over OpenMP threads.

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

SOURCE = native.AVX2_MATH + r"""
#include <cmath>
#include <vector>

namespace {
// Rows sit in blocks scattered over the pool: the hardware prefetcher stops at each block's
// end, so the rows PREFETCH keys ahead are asked for explicitly.
constexpr long PREFETCH = 16;
inline void prefetch_row(const float* row, long d) {
    for (long i = 0; i < d; i += 16) _mm_prefetch(reinterpret_cast<const char*>(row + i), _MM_HINT_T0);
}

// The eight sums of a[0..7] in one vector: {sum(a[0]), ..., sum(a[7])}.
inline __m256 hsum8(const __m256* a) {
    const __m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
    const __m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
    const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

// One (sequence, kv head): the G query heads q (G x d) over n keys/values at rows[j] (pool row
// pointers), softmax weights in w (G x n), result in out (G x d). G is a template parameter so
// that the value pass keeps its G x 4 accumulators in registers.
template <int G>
void attend(const float* q, const float* const* krows, const float* const* vrows, long n, long d, float scale, float* w, float* out) {
    for (long u = 0; u < PREFETCH && u < n; ++u) prefetch_row(krows[u], d);
    long j = 0;
    for (; j + 8 <= n; j += 8) {  // scores of 8 keys at a time: one reduction per 8 dot products
        for (long u = j + PREFETCH; u < j + PREFETCH + 8 && u < n; ++u) prefetch_row(krows[u], d);
        for (int g = 0; g < G; ++g) {
            __m256 acc[8];
            for (int u = 0; u < 8; ++u) acc[u] = _mm256_setzero_ps();
            for (long i = 0; i < d; i += 8) {
                const __m256 qv = _mm256_loadu_ps(q + g * d + i);
                for (int u = 0; u < 8; ++u) acc[u] = _mm256_fmadd_ps(_mm256_loadu_ps(krows[j + u] + i), qv, acc[u]);
            }
            _mm256_storeu_ps(w + g * n + j, _mm256_mul_ps(hsum8(acc), _mm256_set1_ps(scale)));
        }
    }
    for (; j < n; ++j)
        for (int g = 0; g < G; ++g) {
            __m256 acc = _mm256_setzero_ps();
            for (long i = 0; i < d; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(krows[j] + i), _mm256_loadu_ps(q + g * d + i), acc);
            w[g * n + j] = scale * hsum(acc);
        }
    for (long u = 0; u < PREFETCH && u < n; ++u) prefetch_row(vrows[u], d);
    for (int g = 0; g < G; ++g) {  // softmax of each query head's row
        float* wg = w + g * n;
        __m256 vmax = _mm256_set1_ps(-INFINITY);
        long i = 0;
        for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(wg + i));
        float top = hmax(vmax);
        for (; i < n; ++i) top = wg[i] > top ? wg[i] : top;
        const __m256 vtop = _mm256_set1_ps(top);
        __m256 vsum = _mm256_setzero_ps();
        i = 0;
        for (; i + 8 <= n; i += 8) {
            const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(wg + i), vtop));
            _mm256_storeu_ps(wg + i, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        float sum = hsum(vsum);
        for (; i < n; ++i) sum += (wg[i] = std::exp(wg[i] - top));
        const float inv = 1.0f / sum;
        for (i = 0; i < n; ++i) wg[i] *= inv;
    }
    long i0 = 0;
    for (; i0 + 32 <= d; i0 += 32) {  // values: 32 dims of every query head at a time, in registers
        __m256 acc[G][4];
        for (int g = 0; g < G; ++g)
            for (int c = 0; c < 4; ++c) acc[g][c] = _mm256_setzero_ps();
        for (long jj = 0; jj < n; ++jj) {
            if (jj + PREFETCH < n) prefetch_row(vrows[jj + PREFETCH] + i0, 32);
            const float* v = vrows[jj] + i0;
            const __m256 v0 = _mm256_loadu_ps(v), v1 = _mm256_loadu_ps(v + 8), v2 = _mm256_loadu_ps(v + 16), v3 = _mm256_loadu_ps(v + 24);
            for (int g = 0; g < G; ++g) {
                const __m256 wb = _mm256_broadcast_ss(w + g * n + jj);
                acc[g][0] = _mm256_fmadd_ps(wb, v0, acc[g][0]);
                acc[g][1] = _mm256_fmadd_ps(wb, v1, acc[g][1]);
                acc[g][2] = _mm256_fmadd_ps(wb, v2, acc[g][2]);
                acc[g][3] = _mm256_fmadd_ps(wb, v3, acc[g][3]);
            }
        }
        for (int g = 0; g < G; ++g)
            for (int c = 0; c < 4; ++c) _mm256_storeu_ps(out + g * d + i0 + 8 * c, acc[g][c]);
    }
    for (; i0 < d; i0 += 8) {
        __m256 acc[G];
        for (int g = 0; g < G; ++g) acc[g] = _mm256_setzero_ps();
        for (long jj = 0; jj < n; ++jj) {
            const __m256 v = _mm256_loadu_ps(vrows[jj] + i0);
            for (int g = 0; g < G; ++g) acc[g] = _mm256_fmadd_ps(_mm256_broadcast_ss(w + g * n + jj), v, acc[g]);
        }
        for (int g = 0; g < G; ++g) _mm256_storeu_ps(out + g * d + i0, acc[g]);
    }
}

// Any group size: one query head at a time (each pass re-reads its keys and values).
void attend_any(const float* q, const float* const* krows, const float* const* vrows, long n, long d, float scale, long group, float* w, float* out) {
    for (long g = 0; g < group; ++g) attend<1>(q + g * d, krows, vrows, n, d, scale, w, out + g * d);
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
        thread_local std::vector<float> w;
        thread_local std::vector<const float*> rows;
        w.resize(group * n);
        rows.resize(2 * n);
        for (long j = 0; j < n; ++j) {
            const long row = ((table[j / bs] * kv + h) * bs + j % bs) * d;
            rows[j] = k_pool + row;
            rows[n + j] = v_pool + row;
        }
        const float* const* kr = rows.data();
        const float* const* vr = rows.data() + n;
        switch (group) {
            case 1: attend<1>(qh, kr, vr, n, d, scale, w.data(), oh); break;
            case 2: attend<2>(qh, kr, vr, n, d, scale, w.data(), oh); break;
            case 3: attend<3>(qh, kr, vr, n, d, scale, w.data(), oh); break;
            case 4: attend<4>(qh, kr, vr, n, d, scale, w.data(), oh); break;
            default: attend_any(qh, kr, vr, n, d, scale, group, w.data(), oh); break;
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
