"""A hand-written int8 weight-only matmul for AVX2 CPUs, compiled on first use and called through ctypes.

Decoding one token reads every weight once, so at batch 1 the speed is set by bytes per
weight: int8 moves a quarter of float32's bytes, but only if the weights are never widened
to a float32 copy in memory. The weights of 16 output channels are stored as one *panel*
(``[K][16]`` int8, contiguous); the per-channel scale (and bias) are applied once at the end.

Each step loads the 16 int8 weights of one input channel, widens them in registers to two
vectors of 8 floats and multiplies them with up to 6 broadcast activations (6 rows x 16
columns of float32 accumulators). For many rows (batch 32) widening the panel once into a
float scratch and running a plain 6 x 16 FMA loop over it was measured too: 20-35% *slower*
on this AVX2 EPYC (the float panel, 4x the bytes, falls out of L1), so there is one loop.

Runs of panels are split over ``torch.get_num_threads()`` threads by ``pool_kernel``'s
thread pool (not OpenMP, whose barriers stall whenever the shared CPU pauses one thread).

Plain C++ (no torch headers), built on first use by ``aipath.native``. Without a compiler,
or without AVX2/FMA, ``load_kernel()`` returns None and ``Int8Linear`` falls back to
dequantising (same numbers up to float rounding, slower).
"""

from __future__ import annotations

import ctypes
from functools import lru_cache
from typing import TYPE_CHECKING

import torch

from aipath import native
from aipath.llm.attention_kernel import ATTENTION_SOURCE
from aipath.llm.fused_decode_kernel import LAYER_SOURCE
from aipath.llm.pool_kernel import POOL_SOURCE
from aipath.llm.row_ops_kernel import ROW_OPS_SOURCE

if TYPE_CHECKING:
    from aipath.llm.int8 import Int8Linear

PANEL = 16  # output channels per panel: two AVX2 vectors of 8 floats

MATMUL_SOURCE = POOL_SOURCE + r"""
#include <immintrin.h>
#include <stdint.h>

namespace q8 {
constexpr int NR = 16;

// One Int8Linear: ceil(n / 16) panels of [k][16] int8; scale and bias (nullable) padded to 16.
struct Weights {
    const int8_t* panels;
    const float* scale;
    const float* bias;
    long n, k;
};

inline __m256 widen8(const int8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

// y[r][0..cols) = acc[r] * scale + bias (+ y[r] when add): the epilogue shared by both loops.
template <int MR>
inline void store(__m256 (&acc)[MR][2], const float* scale, const float* bias, float* y, long ldy, int cols, bool add) {
    const __m256 s0 = _mm256_loadu_ps(scale), s1 = _mm256_loadu_ps(scale + 8);
    const __m256 b0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    const __m256 b1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
        __m256 v0 = _mm256_fmadd_ps(acc[r][0], s0, b0), v1 = _mm256_fmadd_ps(acc[r][1], s1, b1);
        float* yr = y + r * ldy;
        if (cols == NR) {
            if (add) v0 = _mm256_add_ps(v0, _mm256_loadu_ps(yr)), v1 = _mm256_add_ps(v1, _mm256_loadu_ps(yr + 8));
            _mm256_storeu_ps(yr, v0);
            _mm256_storeu_ps(yr + 8, v1);
        } else {
            alignas(32) float out[NR];
            _mm256_store_ps(out, v0);
            _mm256_store_ps(out + 8, v1);
            for (int j = 0; j < cols; ++j) yr[j] = add ? yr[j] + out[j] : out[j];
        }
    }
}

// Few rows: MR rows x one int8 panel, widened in registers. KU independent accumulator sets
// (over k, k+1, ...) hide the FMA latency when MR is small.
template <int MR, int KU>
void tile(const float* x, long ldx, const int8_t* w, long K, const float* scale, const float* bias,
          float* y, long ldy, int cols, bool add) {
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
#pragma GCC unroll 8
    for (int u = 1; u < KU; ++u)
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r)
            acc[0][r][0] = _mm256_add_ps(acc[0][r][0], acc[u][r][0]), acc[0][r][1] = _mm256_add_ps(acc[0][r][1], acc[u][r][1]);
    store<MR>(acc[0], scale, bias, y, ldy, cols, add);
}

// All M rows times panel p of W (output columns [16p, 16p + 16)) into y (row stride ldy).
inline void panel(const float* x, long M, long ldx, const Weights& W, long p, float* y, long ldy, bool add) {
    const long K = W.k, n0 = p * NR;
    const int cols = W.n - n0 < NR ? int(W.n - n0) : NR;
    const int8_t* w = W.panels + n0 * K;
    const float* s = W.scale + n0;
    const float* b = W.bias ? W.bias + n0 : nullptr;
    long m = 0;
    for (; m + 6 <= M; m += 6) tile<6, 1>(x + m * ldx, ldx, w, K, s, b, y + m * ldy, ldy, cols, add);
    const float* xr = x + m * ldx;
    float* yr = y + m * ldy;
    switch (M - m) {
        case 5: tile<5, 1>(xr, ldx, w, K, s, b, yr, ldy, cols, add); break;
        case 4: tile<4, 1>(xr, ldx, w, K, s, b, yr, ldy, cols, add); break;
        case 3: tile<3, 1>(xr, ldx, w, K, s, b, yr, ldy, cols, add); break;
        case 2: tile<2, 2>(xr, ldx, w, K, s, b, yr, ldy, cols, add); break;
        case 1: tile<1, 4>(xr, ldx, w, K, s, b, yr, ldy, cols, add); break;
        default: break;
    }
}

struct LinearJob {
    const float* x;
    long M, ldx;
    const Weights* W;
    float* y;
    long ldy, chunk;
    bool add;
};

inline void linear_chunk(const void* ctx, long c) {
    const LinearJob& j = *static_cast<const LinearJob*>(ctx);
    const long panels = (j.W->n + NR - 1) / NR, end = (c + 1) * j.chunk < panels ? (c + 1) * j.chunk : panels;
    for (long p = c * j.chunk; p < end; ++p) panel(j.x, j.M, j.ldx, *j.W, p, j.y + p * NR, j.ldy, j.add);
}

// y (M x n, row stride ldy) (+)= x (M x k, row stride ldx) @ dequant(W)^T + bias, on `threads` threads.
inline void linear(const float* x, long M, long ldx, const Weights& W, float* y, long ldy, bool add, int threads) {
    const long panels = (W.n + NR - 1) / NR;
    // Eight chunks per thread: long runs of panels stream well from memory, and a thread the
    // (shared) CPU pauses leaves its chunks to the others instead of stalling the whole call.
    const long chunk = panels / (8L * threads) > 1 ? panels / (8L * threads) : 1;
    const LinearJob job{x, M, ldx, &W, y, ldy, chunk, add};
    pool::run(linear_chunk, &job, (panels + chunk - 1) / chunk, threads);
}
}  // namespace q8
"""

SOURCE = MATMUL_SOURCE + r"""
extern "C" void q8_linear(const float* x, long M, long K, const int8_t* w, long N,
                          const float* scale, const float* bias, float* y, int threads) {
    const q8::Weights W{w, scale, bias, N, K};
    q8::linear(x, M, K, W, y, N, false, threads);
}
""" + native.AVX2_MATH + ROW_OPS_SOURCE + ATTENTION_SOURCE + LAYER_SOURCE
# One library, one thread pool: the matmul, the per-row ops and decode attention (which the serving
# engine's steps also call one at a time) and the whole decoder block at decode time (``fused_decode``).


class Q8Weights(ctypes.Structure):
    """``q8::Weights``: the pointers and sizes of one ``Int8Linear`` (its tensors must outlive it)."""

    _fields_ = [("panels", ctypes.c_void_p), ("scale", ctypes.c_void_p), ("bias", ctypes.c_void_p), ("n", ctypes.c_long), ("k", ctypes.c_long)]

    @classmethod
    def of(cls, layer: Int8Linear) -> "Q8Weights":
        bias = None if layer.bias is None else layer.bias.data_ptr()
        return cls(layer.panels.data_ptr(), layer.scale.data_ptr(), bias, layer.out_features, layer.panels.shape[1])


@lru_cache(maxsize=1)
def load_kernel() -> ctypes.CDLL | None:
    """The compiled kernel, or None (with a warning saying why) where it cannot run here."""
    lib = native.load_library("q8_linear", SOURCE, "int8 layers dequantise and decoding runs torch's ops instead (same numbers, slower)")
    if lib is not None:
        lib.q8_linear.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        lib.q8_linear.restype = None
        lib.q8_embed_rows.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long, ctypes.c_long, ctypes.c_long, ctypes.c_void_p]
        lib.q8_embed_rows.restype = ctypes.c_int
    return lib


def pool_stats() -> tuple[int, int]:
    """(jobs the thread pool shared out, how many of them ran alone because a worker had been late)."""
    lib = load_kernel()
    assert lib is not None
    out = (ctypes.c_long * 2)()
    lib.q8_pool_stats(out)
    return out[0], out[1]


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


def q8_embed(panels: torch.Tensor, scale: torch.Tensor, ids: torch.Tensor) -> torch.Tensor | None:
    """``Int8Embedding``'s rows ``ids`` (N,) int64 as float32 ``(N, K)``, on the calling thread (no
    OpenMP team); None when an id is outside the table's (padded) rows."""
    lib = load_kernel()
    assert lib is not None and ids.dtype == torch.int64 and ids.dim() == 1 and panels.is_contiguous() and scale.is_contiguous()
    assert scale.dtype == torch.float32 and panels.dtype == torch.int8
    ids = ids.contiguous()
    k = panels.shape[1]
    out = torch.empty(ids.shape[0], k)
    if lib.q8_embed_rows(panels.data_ptr(), scale.data_ptr(), ids.data_ptr(), ids.shape[0], k, min(scale.shape[0], panels.shape[0] * PANEL), out.data_ptr()):
        return None
    return out
