"""A hand-written int8 weight-only matmul for AVX2 CPUs, compiled on first use and called through ctypes.

Decoding one token reads every weight once, so at batch 1 the speed is set by bytes per
weight: int8 moves a quarter of float32's bytes, but only if the weights are never widened
to a float32 copy in memory. This kernel widens them in registers: the weights of 16 output
channels are stored as one *panel* (``[K][16]`` int8, contiguous), each step loads 16 int8
weights of one input channel, converts them to two vectors of 8 floats, and multiplies them
with up to 6 broadcast activations (6 rows x 16 columns of float32 accumulators). The
per-channel scale (and bias) are applied once at the end. Panels are split over OpenMP
threads; the library links ``libgomp.so.1`` by name, so inside a process that imported torch
it shares torch's OpenMP runtime (one thread pool), and it uses ``torch.get_num_threads()``.

It is plain C++ (no torch headers), built on first use by ``aipath.native``. Without a
compiler, or without AVX2/FMA, ``load_kernel()`` returns None and ``Int8Linear`` falls back
to dequantising (same numbers up to float rounding, slower).
"""

from __future__ import annotations

import ctypes
from functools import lru_cache

import torch

from aipath import native

PANEL = 16  # output channels per panel: two AVX2 vectors of 8 floats

SOURCE = r"""
#include <immintrin.h>
#include <stdint.h>

namespace {
constexpr int NR = 16;

inline __m256 widen8(const int8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

// y[r][0..cols) = scale * sum_k x[r][k] * w[k][0..16) + bias, for MR rows of x and one panel w.
// KU independent accumulator sets (over k, k+1, ...) hide the FMA latency when MR is small.
template <int MR, int KU>
void tile(const float* x, long ldx, const int8_t* w, long K, const float* scale, const float* bias,
          float* y, long ldy, int cols) {
    // Every loop over u or r is unrolled fully, so the accumulators live in registers.
    __m256 acc[KU][MR][2];
#pragma GCC unroll 8
    for (int u = 0; u < KU; ++u)
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) acc[u][r][0] = acc[u][r][1] = _mm256_setzero_ps();
    long k = 0;
    for (; k + KU <= K; k += KU) {
#pragma GCC unroll 8
        for (int u = 0; u < KU; ++u) {
            const __m256 w0 = widen8(w + (k + u) * NR), w1 = widen8(w + (k + u) * NR + 8);
#pragma GCC unroll 8
            for (int r = 0; r < MR; ++r) {
                const __m256 xb = _mm256_broadcast_ss(x + r * ldx + k + u);
                acc[u][r][0] = _mm256_fmadd_ps(xb, w0, acc[u][r][0]);
                acc[u][r][1] = _mm256_fmadd_ps(xb, w1, acc[u][r][1]);
            }
        }
    }
    for (; k < K; ++k) {
        const __m256 w0 = widen8(w + k * NR), w1 = widen8(w + k * NR + 8);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            const __m256 xb = _mm256_broadcast_ss(x + r * ldx + k);
            acc[0][r][0] = _mm256_fmadd_ps(xb, w0, acc[0][r][0]);
            acc[0][r][1] = _mm256_fmadd_ps(xb, w1, acc[0][r][1]);
        }
    }
    const __m256 s0 = _mm256_loadu_ps(scale), s1 = _mm256_loadu_ps(scale + 8);
    const __m256 b0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    const __m256 b1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
    alignas(32) float out[MR][NR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
        __m256 a0 = acc[0][r][0], a1 = acc[0][r][1];
#pragma GCC unroll 8
        for (int u = 1; u < KU; ++u) a0 = _mm256_add_ps(a0, acc[u][r][0]), a1 = _mm256_add_ps(a1, acc[u][r][1]);
        _mm256_store_ps(out[r], _mm256_fmadd_ps(a0, s0, b0));
        _mm256_store_ps(out[r] + 8, _mm256_fmadd_ps(a1, s1, b1));
    }
    for (int r = 0; r < MR; ++r)
        for (int j = 0; j < cols; ++j) y[r * ldy + j] = out[r][j];
}

void panel(const float* x, long M, long K, const int8_t* w, const float* scale, const float* bias, float* y, long N, int cols) {
    long m = 0;
    for (; m + 6 <= M; m += 6) tile<6, 1>(x + m * K, K, w, K, scale, bias, y + m * N, N, cols);
    const float* xr = x + m * K;
    float* yr = y + m * N;
    switch (M - m) {
        case 5: tile<5, 1>(xr, K, w, K, scale, bias, yr, N, cols); break;
        case 4: tile<4, 1>(xr, K, w, K, scale, bias, yr, N, cols); break;
        case 3: tile<3, 1>(xr, K, w, K, scale, bias, yr, N, cols); break;
        case 2: tile<2, 2>(xr, K, w, K, scale, bias, yr, N, cols); break;
        case 1: tile<1, 4>(xr, K, w, K, scale, bias, yr, N, cols); break;
        default: break;
    }
}
}  // namespace

// y (M x N) = x (M x K) @ dequant(w)^T + bias; w is ceil(N/16) panels of [K][16] int8,
// scale and bias (nullable) are padded to a multiple of 16.
extern "C" void q8_linear(const float* x, long M, long K, const int8_t* w, long N,
                          const float* scale, const float* bias, float* y, int threads) {
    const long panels = (N + NR - 1) / NR;
    // Eight chunks per thread: long runs of panels stream well from memory, and a thread the
    // (shared) CPU pauses leaves its chunks to the others instead of stalling the whole call.
    const long chunk = panels / (8L * threads) > 1 ? panels / (8L * threads) : 1;
#pragma omp parallel for schedule(dynamic, chunk) num_threads(threads)
    for (long p = 0; p < panels; ++p) {
        const long n0 = p * NR;
        const int cols = N - n0 < NR ? int(N - n0) : NR;
        panel(x, M, K, w + n0 * K, scale + n0, bias ? bias + n0 : nullptr, y + n0, N, cols);
    }
}
"""


@lru_cache(maxsize=1)
def load_kernel() -> ctypes.CDLL | None:
    """The compiled kernel, or None (with a warning saying why) where it cannot run here."""
    lib = native.load_library("q8_linear", SOURCE, "int8 layers dequantise instead (same numbers, slower)")
    if lib is not None:
        lib.q8_linear.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        lib.q8_linear.restype = None
    return lib


def q8_linear(x: torch.Tensor, panels: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None, n: int) -> torch.Tensor:
    """``x @ W^T + bias`` with W given as int8 ``panels`` (P, K, 16) and padded per-channel ``scale``."""
    lib = load_kernel()
    assert lib is not None and x.dtype == torch.float32
    x = x if x.is_contiguous() else x.contiguous()
    k = panels.shape[1]
    y = torch.empty((*x.shape[:-1], n))
    bias_ptr = None if bias is None else bias.data_ptr()
    lib.q8_linear(x.data_ptr(), x.numel() // k, k, panels.data_ptr(), n, scale.data_ptr(), bias_ptr, y.data_ptr(), torch.get_num_threads())
    return y
