"""The small per-layer operations of a serving step, fused into three C++ calls per block.

Between its weight multiplications a Llama block runs about thirty small torch operations
per step (RMSNorm is seven, rope eight, the KV writes two, SwiGLU's gate four, the residual
adds two), each a few microseconds of dispatch for a few microseconds of arithmetic. On the
2-core machine this was about a fifth of a 16-sequence decode step and half of a
1-sequence one. Here they become:

- ``add_rms_norm``: ``x += delta`` (the residual) and ``h = rmsnorm(x) * weight`` in one pass;
- ``rope_write``: rotary encoding of q and k straight out of the q/k/v projection, k and v
  written to their slots in the paged pool, q written token-major for attention;
- ``silu_mul``: ``silu(gate) * up`` straight out of the gate/up projection.

``argmax`` is the sampler's greedy pick, first largest index as ``torch.argmax``.

Numbers: rope and the residual add are the same IEEE operations as the torch path (bit for
bit); RMSNorm's sum of squares and SiLU's exponential round differently in the last bits
(an 8-lane sum; a Cephes-style exp), as any two kernels do. The tests compare this path
with the torch one, and the engine's outputs with the plain generate loop.

Plain C++ without torch headers, built on first use by ``aipath.native``; without it the
runner keeps the torch operations.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache

import torch

from aipath import native

SOURCE = r"""
// g++ contracts a * b + c into one FMA by default in C++, intrinsics included; rope must round
// each product and the sum on their own, as torch's separate mul and add kernels do.
#pragma GCC optimize("fp-contract=off")
""" + native.AVX2_MATH + r"""
#include <cmath>

// Row by row (n rows of d): x += delta (if delta), then h = x * (1 / sqrt(mean(x^2) + eps)) * w.
extern "C" void add_rms_norm(float* x, const float* delta, const float* w, float* h, long n, long d, float eps) {
    for (long r = 0; r < n; ++r) {
        float* xr = x + r * d;
        float* hr = h + r * d;
        long i = 0;
        __m256 acc = _mm256_setzero_ps();
        if (delta) {
            const float* dr = delta + r * d;
            for (; i + 8 <= d; i += 8) {
                const __m256 v = _mm256_add_ps(_mm256_loadu_ps(xr + i), _mm256_loadu_ps(dr + i));
                _mm256_storeu_ps(xr + i, v);
                acc = _mm256_fmadd_ps(v, v, acc);
            }
            for (; i < d; ++i) xr[i] += dr[i];
        } else {
            for (; i + 8 <= d; i += 8) {
                const __m256 v = _mm256_loadu_ps(xr + i);
                acc = _mm256_fmadd_ps(v, v, acc);
            }
        }
        float ss = hsum(acc);
        for (; i < d; ++i) ss += xr[i] * xr[i];
        const float inv = 1.0f / std::sqrt(ss / float(d) + eps);
        const __m256 vinv = _mm256_set1_ps(inv);
        i = 0;
        for (; i + 8 <= d; i += 8)
            _mm256_storeu_ps(hr + i, _mm256_mul_ps(_mm256_loadu_ps(w + i), _mm256_mul_ps(_mm256_loadu_ps(xr + i), vinv)));
        for (; i < d; ++i) hr[i] = w[i] * (xr[i] * inv);
    }
}

// Token t's q heads (q + t * ldq, heads * d), k and v heads (kv * d each, rows at ldk, ldv) -> rope on q and k
// (x * cos + roll(x, d / 2) * signed_sin, as aipath.llm.positions.apply_rotary), q to q_out
// (t, heads, d), k and v to pool rows slot_rows[t * kv + h] (rows of d floats). d % 16 == 0.
extern "C" void rope_write(const float* q, const float* k, const float* v, long ldq, long ldk, long ldv, long n, long heads, long kv, long d,
                           const float* cos_t, const float* sin_t, const long* positions, float* k_pool, float* v_pool,
                           const long* slot_rows, float* q_out) {
    const long half = d / 2;
    auto rotate = [&](const float* src, float* dst, const float* c, const float* s) {
        for (long i = 0; i < d; i += 8) {
            const long j = i < half ? i + half : i - half;
            const __m256 a = _mm256_mul_ps(_mm256_loadu_ps(src + i), _mm256_loadu_ps(c + i));
            const __m256 b = _mm256_mul_ps(_mm256_loadu_ps(src + j), _mm256_loadu_ps(s + i));
            _mm256_storeu_ps(dst + i, _mm256_add_ps(a, b));
        }
    };
    for (long t = 0; t < n; ++t) {
        const float* c = cos_t + positions[t] * d;
        const float* s = sin_t + positions[t] * d;
        for (long h = 0; h < heads; ++h) rotate(q + t * ldq + h * d, q_out + (t * heads + h) * d, c, s);
        for (long h = 0; h < kv; ++h) {
            const long row = slot_rows[t * kv + h];
            rotate(k + t * ldk + h * d, k_pool + row * d, c, s);
            const float* vs = v + t * ldv + h * d;
            float* vd = v_pool + row * d;
            for (long i = 0; i < d; i += 8) _mm256_storeu_ps(vd + i, _mm256_loadu_ps(vs + i));
        }
    }
}

// out[r] = the first index of the largest value of row r (n rows of v at stride ld), as torch.argmax;
// returns 0, or 1 when some row holds a NaN (the caller then asks torch, which ranks NaN highest).
extern "C" int argmax_rows(const float* x, long n, long v, long ld, long* out) {
    for (long r = 0; r < n; ++r) {
        const float* row = x + r * ld;
        __m256 vmax = _mm256_set1_ps(-INFINITY), nan = _mm256_setzero_ps();
        long i = 0;
        for (; i + 8 <= v; i += 8) {
            const __m256 a = _mm256_loadu_ps(row + i);
            nan = _mm256_or_ps(nan, _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
            vmax = _mm256_max_ps(vmax, a);
        }
        if (_mm256_movemask_ps(nan)) return 1;
        float top = hmax(vmax);
        for (long j = i; j < v; ++j) {
            if (row[j] != row[j]) return 1;
            top = row[j] > top ? row[j] : top;
        }
        const __m256 vtop = _mm256_set1_ps(top);
        long best = -1;
        for (i = 0; i + 8 <= v && best < 0; i += 8) {
            const int m = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(row + i), vtop, _CMP_EQ_OQ));
            if (m) best = i + __builtin_ctz(m);
        }
        for (; i < v && best < 0; ++i)
            if (row[i] == top) best = i;
        out[r] = best;
    }
    return 0;
}

// out (n, hidden) = silu(gate) * up = gate * (1 / (1 + exp(-gate))) * up; gate and up rows at stride ld.
extern "C" void silu_mul(const float* gate, const float* up, long ld, long n, long hidden, float* out) {
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    for (long r = 0; r < n; ++r) {
        const float* g = gate + r * ld;
        const float* u = up + r * ld;
        float* o = out + r * hidden;
        long i = 0;
        for (; i + 8 <= hidden; i += 8) {
            const __m256 x = _mm256_loadu_ps(g + i);
            const __m256 sig = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(zero, x))));
            _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_mul_ps(x, sig), _mm256_loadu_ps(u + i)));
        }
        for (; i < hidden; ++i) o[i] = g[i] * (1.0f / (1.0f + std::exp(-g[i]))) * u[i];
    }
}
"""


@lru_cache(maxsize=1)
def load() -> ctypes.CDLL | None:
    """The compiled kernels, or None (with a warning saying why) where they cannot run here."""
    lib = native.load_library("serve_fused_ops", SOURCE, "the serving engine runs torch's small ops instead (same numbers, slower)")
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
    """``x += delta`` in place (when given), then ``rmsnorm(x) * weight``; ``x`` (N, D) contiguous float32."""
    n, d = x.shape
    h = torch.empty_like(x)
    load().add_rms_norm(x.data_ptr(), None if delta is None else delta.data_ptr(), weight.data_ptr(), h.data_ptr(), n, d, eps)
    return h


def rope_write(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, kv_heads: int, head_dim: int, cos: torch.Tensor, sin: torch.Tensor,
               positions: torch.Tensor, k_pool: torch.Tensor, v_pool: torch.Tensor, slot_rows: torch.Tensor) -> torch.Tensor:
    """Rotated queries ``(N, heads, head_dim)``; rotated keys and the values go to ``slot_rows`` of the pools.

    ``q``, ``k``, ``v``: (N, *) row views with unit column stride (column ranges of a fused
    projection, or three separate projections); rows go to ``(N, heads, head_dim)``."""
    n = q.shape[0]
    q_out = q.new_empty(n, heads, head_dim)
    load().rope_write(q.data_ptr(), k.data_ptr(), v.data_ptr(), q.stride(0), k.stride(0), v.stride(0), n, heads, kv_heads, head_dim, cos.data_ptr(), sin.data_ptr(),
                      positions.data_ptr(), k_pool.data_ptr(), v_pool.data_ptr(), slot_rows.data_ptr(), q_out.data_ptr())
    return q_out


def silu_mul(gate: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """``silu(gate) * up`` for row views ``gate`` and ``up`` (N, hidden) sharing one row stride."""
    n, hidden = gate.shape
    out = gate.new_empty(n, hidden)
    load().silu_mul(gate.data_ptr(), up.data_ptr(), gate.stride(0), n, hidden, out.data_ptr())
    return out


def argmax(logits: torch.Tensor) -> list[int]:
    """``logits.argmax(-1).tolist()`` for float32 rows (N, V) with unit column stride: the first
    largest index of each row, in one vectorised pass instead of torch's scalar-order reduction
    (ten times faster over a 49k vocabulary). Torch answers where it cannot (NaN, no kernel)."""
    lib = load()
    if lib is None or logits.dtype != torch.float32 or logits.device.type != "cpu" or logits.stride(-1) != 1 or logits.dim() != 2:
        return logits.argmax(-1).tolist()
    out = torch.empty(logits.shape[0], dtype=torch.long)
    if lib.argmax_rows(logits.data_ptr(), logits.shape[0], logits.shape[1], logits.stride(0), out.data_ptr()):
        return logits.argmax(-1).tolist()
    return out.tolist()
