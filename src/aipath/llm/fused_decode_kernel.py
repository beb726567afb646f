"""C++ source of one whole decoder block at decode time (one new token per row), for int8 weights.

Decoding SmolLM2 one token at a time ran about sixty PyTorch operations per block (norms,
rope, cache writes, attention, residual adds, SiLU): 30 blocks x 60 x several microseconds
of dispatch cost more than all the weight multiplications, and PyTorch's fused attention
spent 0.1 ms (batch 1) to 1.3 ms (batch 32) per call on a single query. Here a block is one
call; its steps are split over ``pool_kernel``'s threads, each step waiting for the whole
of the previous one:

1. RMSNorm (on the calling thread: a few microseconds), q/k/v matmul;
2. per (row, kv head): rope on its key and its query heads, the key and value written to
   the cache, attention of each query head over the cached keys (the padding mask is the
   row's ``key_valid``);
3. output projection added onto the residual ``x`` in the matmul's epilogue;
4. RMSNorm again, then gate and up panels in pairs, so ``silu(gate) * up`` is computed while
   both are in registers' reach and the 2 x hidden intermediate is never stored;
5. down projection added onto ``x``.

The arithmetic is the written-out model's (``attention.scaled_dot_product_attention``,
``norms.RMSNorm``, ``positions.apply_rotary``, ``mlp.SwiGLU``) in float32; only the order
of additions differs, and the exponential is a Cephes-style polynomial (about 1 ulp).
It is compiled into the same library as ``int8_kernel``'s matmul (one thread pool).
"""

from aipath import native

LAYER_SOURCE = native.AVX2_MATH + r"""
#include <cmath>
#include <vector>

namespace dec {
using q8::NR;

// out[m] = x[m] / sqrt(mean(x[m]^2) + eps) * w, for all M rows (D a multiple of 8).
void norm_rows(const float* x, long M, long D, const float* w, float eps, float* out) {
    for (long m = 0; m < M; ++m) {
        const float* xr = x + m * D;
        __m256 ss = _mm256_setzero_ps();
        for (long i = 0; i < D; i += 8) ss = _mm256_fmadd_ps(_mm256_loadu_ps(xr + i), _mm256_loadu_ps(xr + i), ss);
        const __m256 inv = _mm256_set1_ps(1.0f / std::sqrt(hsum(ss) / D + eps));
        for (long i = 0; i < D; i += 8)
            _mm256_storeu_ps(out + m * D + i, _mm256_mul_ps(_mm256_loadu_ps(w + i), _mm256_mul_ps(_mm256_loadu_ps(xr + i), inv)));
    }
}

// Rotate one head in place: pairs (i, i + hd/2); the sin table holds -sin in its first half.
inline void rope(float* v, const float* cos, const float* sin, long hd) {
    const long half = hd / 2;
    for (long i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * cos[i] + b * sin[i];
        v[i + half] = b * cos[i + half] + a * sin[i + half];
    }
}

// One query head over S cached keys: softmax(q k^T / sqrt(hd)) v, keys with valid[s] == 0 left out.
void attend(const float* q, const float* K, const float* V, long S, long hd, const uint8_t* valid, float* out, float* scores) {
    const float scale = 1.0f / std::sqrt(float(hd));
    float top = -INFINITY;
    for (long s = 0; s < S; ++s) {
        if (valid && !valid[s]) { scores[s] = -INFINITY; continue; }
        __m256 acc = _mm256_setzero_ps();
        for (long d = 0; d < hd; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(K + s * hd + d), acc);
        scores[s] = hsum(acc) * scale;
        top = scores[s] > top ? scores[s] : top;
    }
    if (top == -INFINITY) {  // no allowed key: average them all, as the reference does
        for (long s = 0; s < S; ++s) scores[s] = 0.0f;
        top = 0.0f;
    }
    float total = 0.0f;
    long s = 0;
    for (; s + 8 <= S; s += 8) {
        const __m256 p = exp8(_mm256_sub_ps(_mm256_loadu_ps(scores + s), _mm256_set1_ps(top)));
        const __m256 keep = _mm256_cmp_ps(_mm256_loadu_ps(scores + s), _mm256_set1_ps(-INFINITY), _CMP_NEQ_OQ);
        const __m256 pk = _mm256_and_ps(p, keep);
        _mm256_storeu_ps(scores + s, pk);
        total += hsum(pk);
    }
    for (; s < S; ++s) total += scores[s] = scores[s] == -INFINITY ? 0.0f : std::exp(scores[s] - top);
    for (long d = 0; d < hd; ++d) out[d] = 0.0f;
    for (long t = 0; t < S; ++t) {
        if (scores[t] == 0.0f) continue;
        const __m256 p = _mm256_set1_ps(scores[t] / total);
        for (long d = 0; d < hd; d += 8)
            _mm256_storeu_ps(out + d, _mm256_fmadd_ps(p, _mm256_loadu_ps(V + t * hd + d), _mm256_loadu_ps(out + d)));
    }
}

struct Dims {
    long dim, hidden, heads, kv_heads, head_dim;
    float eps;
};

struct Layer {
    const float* attn_norm;
    const float* mlp_norm;
    q8::Weights qkv, o, gate_up, down;
};

struct Step {
    const Dims* d;
    long M;
    float *qkv, *att, *act, *kc, *vc;
    const float *h, *cos, *sin;
    long max_len, pos, valid_stride, chunk;
    const uint8_t* valid;
    const q8::Weights* gate_up;
};

// Step 2 for item (row, kv head): rope, cache write at position pos, attention into att.
void attention_item(const void* ctx, long i) {
    const Step& st = *static_cast<const Step*>(ctx);
    const Dims& d = *st.d;
    const long hd = d.head_dim, H = d.heads, Hkv = d.kv_heads, g = H / Hkv, pos = st.pos;
    const long nq = H * hd, nkv = Hkv * hd, nqkv = nq + 2 * nkv;
    const long m = i / Hkv, kh = i % Hkv;
    static thread_local std::vector<float> scores;
    if ((long)scores.size() < pos + 8) scores.resize(pos + 8);
    float* row = st.qkv + m * nqkv;
    const float* c = st.cos + m * hd;
    const float* s = st.sin + m * hd;
    float* K = st.kc + (m * Hkv + kh) * st.max_len * hd;
    float* V = st.vc + (m * Hkv + kh) * st.max_len * hd;
    float* k = row + nq + kh * hd;
    rope(k, c, s, hd);
    for (long e = 0; e < hd; ++e) K[pos * hd + e] = k[e], V[pos * hd + e] = row[nq + nkv + kh * hd + e];
    const uint8_t* valid = st.valid ? st.valid + m * st.valid_stride : nullptr;
    for (long h = kh * g; h < (kh + 1) * g; ++h) {
        rope(row + h * hd, c, s, hd);
        attend(row + h * hd, K, V, pos + 1, hd, valid, st.att + m * nq + h * hd, scores.data());
    }
}

// Step 4 for a run of panel pairs: act[m][f] = silu(gate[m][f]) * up[m][f], where gate panel p
// and up panel p + F/16 are computed together, so the 2 x hidden intermediate is never stored.
void swiglu_chunk(const void* ctx, long c) {
    const Step& st = *static_cast<const Step*>(ctx);
    const long M = st.M, D = st.d->dim, F = st.d->hidden, panels = F / NR;
    static thread_local std::vector<float> gate, up;
    if ((long)gate.size() < M * NR) gate.resize(M * NR), up.resize(M * NR);
    const long end = (c + 1) * st.chunk < panels ? (c + 1) * st.chunk : panels;
    for (long p = c * st.chunk; p < end; ++p) {
        q8::panel(st.h, M, D, *st.gate_up, p, gate.data(), NR, false);
        q8::panel(st.h, M, D, *st.gate_up, p + panels, up.data(), NR, false);
        for (long m = 0; m < M; ++m)
            for (int j = 0; j < NR; j += 8) {
                const __m256 gv = _mm256_loadu_ps(gate.data() + m * NR + j);
                const __m256 sig = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(_mm256_sub_ps(_mm256_setzero_ps(), gv))));
                _mm256_storeu_ps(st.act + m * F + p * NR + j, _mm256_mul_ps(_mm256_mul_ps(gv, sig), _mm256_loadu_ps(up.data() + m * NR + j)));
            }
    }
}
}  // namespace dec

// One decoder block on x (M rows, one new token each), in place. kc/vc: this layer's cache,
// (M, kv_heads, max_len, head_dim); the new keys/values go to position pos. valid: (M, pos + 1)
// bytes, 0 at left padding, or null. cos/sin: (M, head_dim), the rows' rope tables.
extern "C" void q8_decode_layer(const dec::Layer* L, const dec::Dims* d, float* x, long M, const float* cos, const float* sin,
                                float* kc, float* vc, long max_len, long pos, const uint8_t* valid, long valid_stride, int threads) {
    const long D = d->dim, F = d->hidden, nq = d->heads * d->head_dim, nqkv = nq + 2 * d->kv_heads * d->head_dim;
    static thread_local std::vector<float> work;  // reused: no allocation (or page faults) per call
    if ((long)work.size() < M * (D + nqkv + nq + F)) work.resize(M * (D + nqkv + nq + F));
    float *h = work.data(), *qkv = h + M * D, *att = qkv + M * nqkv, *act = att + M * nq;
    const long pairs = F / q8::NR, chunk = pairs / (8L * threads) > 1 ? pairs / (8L * threads) : 1;
    const dec::Step st{d, M, qkv, att, act, kc, vc, h, cos, sin, max_len, pos, valid_stride, chunk, valid, &L->gate_up};
    dec::norm_rows(x, M, D, L->attn_norm, d->eps, h);
    q8::linear(h, M, D, L->qkv, qkv, nqkv, false, threads);
    pool::run(dec::attention_item, &st, M * d->kv_heads, threads);
    q8::linear(att, M, nq, L->o, x, D, true, threads);
    dec::norm_rows(x, M, D, L->mlp_norm, d->eps, h);
    pool::run(dec::swiglu_chunk, &st, (pairs + chunk - 1) / chunk, threads);
    q8::linear(act, M, F, L->down, x, D, true, threads);
}
"""
