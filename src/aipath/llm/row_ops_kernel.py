"""C++ source of the small per-row operations of a decoder block: RMSNorm, rotary encoding, SiLU gate, argmax.

Between its weight multiplications a Llama block runs about thirty small torch operations
per step (RMSNorm is seven, rope eight, SwiGLU's gate four, the residual adds two), each a
few microseconds of dispatch for a few microseconds of arithmetic. These are the one C++
copy of each: the whole-block decode kernel (``fused_decode_kernel``) calls them inline,
and the serving engine's prefill steps call the ``extern "C"`` entry points below one
operation at a time (``aipath.serve.fused_ops``).

Numbers: rope and the residual add are the same IEEE operations as the torch modules (bit
for bit: rope is compiled without FMA contraction); RMSNorm's sum of squares and SiLU's
exponential round differently in the last bits (an 8-lane sum; a Cephes-style exp).

Compiled into ``int8_kernel``'s library (after ``native.AVX2_MATH``). The Python wrappers at
the end (``add_rms_norm``, ``argmax_rows``) are the ones the LLM's decode loop and the serving
engine (``aipath.serve.fused_ops``) both call.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache

import torch

ROW_OPS_SOURCE = r"""
#include <cmath>

namespace ops {
// Row by row (n rows of d): x += delta (if delta), then h = x * (1 / sqrt(mean(x^2) + eps)) * w.
inline void add_norm_rows(float* x, const float* delta, const float* w, float* h, long n, long d, float eps) {
    for (long r = 0; r < n; ++r) {
        float* xr = x + r * d;
        float* hr = h + r * d;
        long i = 0;
        __m256 acc = _mm256_setzero_ps();
        for (; i + 8 <= d; i += 8) {
            __m256 v = _mm256_loadu_ps(xr + i);
            if (delta) v = _mm256_add_ps(v, _mm256_loadu_ps(delta + r * d + i)), _mm256_storeu_ps(xr + i, v);
            acc = _mm256_fmadd_ps(v, v, acc);
        }
        float ss = hsum(acc);
        for (; i < d; ++i) {
            if (delta) xr[i] += delta[r * d + i];
            ss += xr[i] * xr[i];
        }
        const float inv = 1.0f / std::sqrt(ss / float(d) + eps);
        const __m256 vinv = _mm256_set1_ps(inv);
        for (i = 0; i + 8 <= d; i += 8)
            _mm256_storeu_ps(hr + i, _mm256_mul_ps(_mm256_loadu_ps(w + i), _mm256_mul_ps(_mm256_loadu_ps(xr + i), vinv)));
        for (; i < d; ++i) hr[i] = w[i] * (xr[i] * inv);
    }
}

// g++ contracts a * b + c into one FMA by default in C++, intrinsics included; rope must round
// each product and the sum on their own, as torch's separate mul and add kernels do.
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
// One head of d values, src -> dst (which may be src): pairs (i, i + d/2) rotate as
// aipath.llm.positions.apply_rotary's x * cos + roll(x, d/2) * signed_sin.
inline void rope(const float* src, float* dst, const float* c, const float* s, long d) {
    const long half = d / 2;
    long i = 0;
    for (; i + 8 <= half; i += 8) {  // both halves loaded before either is stored: in place is fine
        const __m256 a = _mm256_loadu_ps(src + i), b = _mm256_loadu_ps(src + i + half);
        const __m256 lo = _mm256_add_ps(_mm256_mul_ps(a, _mm256_loadu_ps(c + i)), _mm256_mul_ps(b, _mm256_loadu_ps(s + i)));
        const __m256 hi = _mm256_add_ps(_mm256_mul_ps(b, _mm256_loadu_ps(c + i + half)), _mm256_mul_ps(a, _mm256_loadu_ps(s + i + half)));
        _mm256_storeu_ps(dst + i, lo);
        _mm256_storeu_ps(dst + i + half, hi);
    }
    for (; i < half; ++i) {
        const float a = src[i], b = src[i + half];
        dst[i] = a * c[i] + b * s[i];
        dst[i + half] = b * c[i + half] + a * s[i + half];
    }
}
#pragma GCC pop_options

// out[i] = silu(gate[i]) * up[i] = gate * (1 / (1 + exp(-gate))) * up, for n values.
inline void silu_mul(const float* g, const float* u, long n, float* out) {
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(g + i);
        const __m256 sig = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(zero, x))));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(x, sig), _mm256_loadu_ps(u + i)));
    }
    for (; i < n; ++i) out[i] = g[i] * (1.0f / (1.0f + std::exp(-g[i]))) * u[i];
}

// The first index of the largest of v values, as torch.argmax; -1 when one is NaN (torch ranks NaN highest).
inline long argmax(const float* row, long v) {
    __m256 vmax = _mm256_set1_ps(-INFINITY), nan = _mm256_setzero_ps();
    long i = 0;
    for (; i + 8 <= v; i += 8) {
        const __m256 a = _mm256_loadu_ps(row + i);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
        vmax = _mm256_max_ps(vmax, a);
    }
    if (_mm256_movemask_ps(nan)) return -1;
    float top = hmax(vmax);
    for (long j = i; j < v; ++j) {
        if (row[j] != row[j]) return -1;
        top = row[j] > top ? row[j] : top;
    }
    const __m256 vtop = _mm256_set1_ps(top);
    for (i = 0; i + 8 <= v; i += 8) {
        const int m = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(row + i), vtop, _CMP_EQ_OQ));
        if (m) return i + __builtin_ctz(m);
    }
    for (; i < v; ++i)
        if (row[i] == top) return i;
    return -1;  // unreachable: top is one of the values
}
}  // namespace ops

// out (n, K) = the int8 embedding rows ids (n,) of a panel table ((rows / 16, K, 16) int8, scale per row),
// as aipath.llm.int8.Int8Embedding: one exact int8 -> float conversion and one product per value.
// Torch's advanced indexing for the same gather starts an OpenMP team, which on the shared 2-core
// machine waited out a scheduler time slice (4-8 ms at 2 threads instead of 0.05 ms) once a step.
// Returns 1, writing nothing, when an id is outside [0, rows) (the caller asks torch, which raises).
extern "C" int q8_embed_rows(const int8_t* panels, const float* scale, const long* ids, long n, long K, long rows, float* out) {
    for (long r = 0; r < n; ++r)
        if (ids[r] < 0 || ids[r] >= rows) return 1;
    for (long r = 0; r < n; ++r) {
        const int8_t* col = panels + (ids[r] / 16) * K * 16 + ids[r] % 16;
        const float s = scale[ids[r]];
        for (long k = 0; k < K; ++k) out[r * K + k] = float(col[k * 16]) * s;
    }
    return 0;
}

extern "C" void add_rms_norm(float* x, const float* delta, const float* w, float* h, long n, long d, float eps) {
    ops::add_norm_rows(x, delta, w, h, n, d, eps);
}

// Token t's q heads (q + t * ldq, heads * d), k and v heads (kv * d each, rows at ldk, ldv) -> rope on q and k,
// q to q_out (t, heads, d), k and v to pool rows slot_rows[t * kv + h] (rows of d floats).
extern "C" void rope_write(const float* q, const float* k, const float* v, long ldq, long ldk, long ldv, long n, long heads, long kv, long d,
                           const float* cos_t, const float* sin_t, const long* positions, float* k_pool, float* v_pool,
                           const long* slot_rows, float* q_out) {
    for (long t = 0; t < n; ++t) {
        const float* c = cos_t + positions[t] * d;
        const float* s = sin_t + positions[t] * d;
        for (long h = 0; h < heads; ++h) ops::rope(q + t * ldq + h * d, q_out + (t * heads + h) * d, c, s, d);
        for (long h = 0; h < kv; ++h) {
            const long row = slot_rows[t * kv + h];
            ops::rope(k + t * ldk + h * d, k_pool + row * d, c, s, d);
            for (long i = 0; i < d; ++i) v_pool[row * d + i] = v[t * ldv + h * d + i];
        }
    }
}

// out (n, hidden) = silu(gate) * up; gate and up rows at stride ld.
extern "C" void silu_mul(const float* gate, const float* up, long ld, long n, long hidden, float* out) {
    for (long r = 0; r < n; ++r) ops::silu_mul(gate + r * ld, up + r * ld, hidden, out + r * hidden);
}

// out[r] = argmax of row r (n rows of v at stride ld); returns 1 when some row holds a NaN (the caller asks torch).
extern "C" int argmax_rows(const float* x, long n, long v, long ld, long* out) {
    for (long r = 0; r < n; ++r)
        if ((out[r] = ops::argmax(x + r * ld, v)) < 0) return 1;
    return 0;
}
"""


@lru_cache(maxsize=1)
def load() -> ctypes.CDLL | None:
    """``int8_kernel``'s library with the row operations' signatures set, or None where it cannot run here."""
    from aipath.llm import int8_kernel  # here, not at the top: int8_kernel imports this module's source

    lib = int8_kernel.load_kernel()
    if lib is not None:
        p, i, f = ctypes.c_void_p, ctypes.c_long, ctypes.c_float
        lib.add_rms_norm.argtypes = [p, p, p, p, i, i, f]
        lib.rope_write.argtypes = [p, p, p, i, i, i, i, i, i, i, p, p, p, p, p, p, p]
        lib.silu_mul.argtypes = [p, p, i, i, i, p]
        lib.argmax_rows.argtypes = [p, i, i, i, p]
        lib.argmax_rows.restype = ctypes.c_int
        for fn in (lib.add_rms_norm, lib.rope_write, lib.silu_mul):
            fn.restype = None
    return lib


def add_rms_norm(x: torch.Tensor, delta: torch.Tensor | None, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """``x += delta`` in place (when given), then ``rmsnorm(x) * weight``; ``x`` (N, D) contiguous float32.

    Equal to ``norms.RMSNorm`` up to float rounding (the sum of squares is an 8-lane sum)."""
    n, d = x.shape
    assert x.is_contiguous() and x.dtype == weight.dtype == torch.float32 and (delta is None or delta.is_contiguous())
    h = torch.empty_like(x)
    load().add_rms_norm(x.data_ptr(), None if delta is None else delta.data_ptr(), weight.data_ptr(), h.data_ptr(), n, d, eps)
    return h


def argmax_rows(logits: torch.Tensor) -> torch.Tensor:
    """``logits.argmax(-1)`` (int64) for rows (N, V): the first largest index of each row, as torch.

    Float32 CPU rows with unit column stride go through one vectorised C++ pass on the calling
    thread (torch's reduction is ten times slower over a 49k vocabulary, and at 2 threads it
    starts an OpenMP team that a loaded CPU may stall); torch answers everything else (NaN
    rows, other dtypes or devices, no kernel)."""
    lib = load()
    if lib is None or logits.dtype != torch.float32 or logits.device.type != "cpu" or logits.dim() != 2 or logits.stride(-1) != 1 or 0 in logits.shape:
        return logits.argmax(-1)
    out = torch.empty(logits.shape[0], dtype=torch.long)
    if lib.argmax_rows(logits.data_ptr(), logits.shape[0], logits.shape[1], logits.stride(0), out.data_ptr()):
        return logits.argmax(-1)
    return out


def argmax(logits: torch.Tensor) -> list[int]:
    """``argmax_rows(logits).tolist()``."""
    return argmax_rows(logits).tolist()
