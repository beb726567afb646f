"""C++ source of decode attention (one query per sequence) over a block-table KV cache.

A decode step's attention is memory-bound: each sequence's keys and values are read once
and used by only ``heads / kv_heads`` queries. ``attend<G>`` reads every key and value row
once for all G query heads of its kv head (AVX2: one pass over the keys for the scores,
eight keys per reduction; a vectorised softmax; one pass over the values with every query
head's output in registers).

Keys are found through a block table: the pool is ``[blocks][kv_heads][block_size][d]`` and
key j of a sequence sits in slot ``j % block_size`` of block ``table[j / block_size]``. The
serving engine's paged pool is that layout; the LLM's contiguous ``KVCache`` (B, kv_heads,
max_len, d) is too, as B blocks of ``max_len`` slots, row b owning block b. So both decode
paths (``fused_decode_kernel``'s block, ``paged_decode_attention`` below for the serving
engine's unfused steps) run this one attention.

Masked keys (left padding, ``valid[j] == 0``) are left out of the row list instead of
scored at -inf. A query allowed no key at all gets the plain average of every value, as
the reference's ``masked_fill(finfo.min)`` softmax does.

Compiled into ``int8_kernel``'s library (after ``native.AVX2_MATH`` and ``pool_kernel``).
"""

ATTENTION_SOURCE = r"""
#include <cmath>
#include <vector>

namespace attn {
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

// Scores of the G query heads q (G x d) against n keys at krows[j]: w (G x n) = scale * q . k.
template <int G>
inline void scores(const float* q, const float* const* krows, long n, long d, float scale, float* w) {
    for (long u = 0; u < PREFETCH && u < n; ++u) prefetch_row(krows[u], d);
    long j = 0;
    for (; j + 8 <= n; j += 8) {  // 8 keys at a time: one reduction per 8 dot products
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
}

// Each of the G rows of w (G x n) becomes its softmax.
inline void softmax_rows(float* w, long G, long n) {
    for (long g = 0; g < G; ++g) {
        float* wg = w + g * n;
        __m256 vmax = _mm256_set1_ps(-INFINITY);
        long i = 0;
        for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(wg + i));
        float top = hmax(vmax);
        for (; i < n; ++i) top = wg[i] > top ? wg[i] : top;
        const __m256 vtop = _mm256_set1_ps(top);
        __m256 vsum = _mm256_setzero_ps();
        for (i = 0; i + 8 <= n; i += 8) {
            const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(wg + i), vtop));
            _mm256_storeu_ps(wg + i, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        float sum = hsum(vsum);
        for (; i < n; ++i) sum += (wg[i] = std::exp(wg[i] - top));
        const float inv = 1.0f / sum;
        for (i = 0; i < n; ++i) wg[i] *= inv;
    }
}

// out (G x d) = w (G x n) @ the n value rows: 32 dims of every query head at a time, in registers.
template <int G>
inline void weighted_values(const float* w, const float* const* vrows, long n, long d, float* out) {
    for (long u = 0; u < PREFETCH && u < n; ++u) prefetch_row(vrows[u], d);
    long i0 = 0;
    for (; i0 + 32 <= d; i0 += 32) {
        __m256 acc[G][4];
        for (int g = 0; g < G; ++g)
            for (int c = 0; c < 4; ++c) acc[g][c] = _mm256_setzero_ps();
        for (long j = 0; j < n; ++j) {
            if (j + PREFETCH < n) prefetch_row(vrows[j + PREFETCH] + i0, 32);
            const float* v = vrows[j] + i0;
            const __m256 v0 = _mm256_loadu_ps(v), v1 = _mm256_loadu_ps(v + 8), v2 = _mm256_loadu_ps(v + 16), v3 = _mm256_loadu_ps(v + 24);
            for (int g = 0; g < G; ++g) {
                const __m256 wb = _mm256_broadcast_ss(w + g * n + j);
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
        for (long j = 0; j < n; ++j) {
            const __m256 v = _mm256_loadu_ps(vrows[j] + i0);
            for (int g = 0; g < G; ++g) acc[g] = _mm256_fmadd_ps(_mm256_broadcast_ss(w + g * n + j), v, acc[g]);
        }
        for (int g = 0; g < G; ++g) _mm256_storeu_ps(out + g * d + i0, acc[g]);
    }
}

// G query heads (G x d) over n keys/values given as row pointers; G a template parameter so
// that the value pass keeps its G x 4 accumulators in registers.
template <int G>
void attend(const float* q, const float* const* krows, const float* const* vrows, long n, long d, float scale, float* w, float* out) {
    scores<G>(q, krows, n, d, scale, w);
    softmax_rows(w, G, n);
    weighted_values<G>(w, vrows, n, d, out);
}

// One (sequence, kv head): its `group` query heads q over the first n keys of its block table,
// keys with valid[j] == 0 left out (valid may be null). d % 8 == 0.
inline void attend_table(const float* q, const float* k_pool, const float* v_pool, const long* table, long n, long bs, long kv, long h,
                         long d, const uint8_t* valid, float scale, long group, float* out) {
    static thread_local std::vector<float> w;
    static thread_local std::vector<const float*> rows;
    rows.resize(2 * n);
    long m = 0;
    auto take = [&](long j) {
        const long row = ((table[j / bs] * kv + h) * bs + j % bs) * d;
        rows[m] = k_pool + row, rows[n + m] = v_pool + row, ++m;
    };
    for (long j = 0; j < n; ++j)
        if (!valid || valid[j]) take(j);
    const float* const* kr = rows.data();
    const float* const* vr = rows.data() + n;
    if (m == 0 && n > 0) {  // no key allowed: the reference's softmax of equal scores averages every value
        for (long j = 0; j < n; ++j) take(j);
        w.assign(n, 1.0f / float(n));
        for (long g = 0; g < group; ++g) weighted_values<1>(w.data(), vr, n, d, out + g * d);
        return;
    }
    w.resize(group * m);
    switch (group) {
        case 1: attend<1>(q, kr, vr, m, d, scale, w.data(), out); break;
        case 2: attend<2>(q, kr, vr, m, d, scale, w.data(), out); break;
        case 3: attend<3>(q, kr, vr, m, d, scale, w.data(), out); break;
        case 4: attend<4>(q, kr, vr, m, d, scale, w.data(), out); break;
        default:  // any group size: one query head at a time (each pass re-reads its keys and values)
            for (long g = 0; g < group; ++g) attend<1>(q + g * d, kr, vr, m, d, scale, w.data(), out + g * d);
    }
}

struct PagedJob {
    const float *q, *k_pool, *v_pool;
    const long *tables, *lens;
    long max_blocks, heads, kv, bs, d;
    float scale;
    float* out;
};

inline void paged_item(const void* ctx, long p) {
    const PagedJob& j = *static_cast<const PagedJob*>(ctx);
    const long b = p / j.kv, h = p % j.kv, group = j.heads / j.kv, first = (b * j.heads + h * group) * j.d;
    attend_table(j.q + first, j.k_pool, j.v_pool, j.tables + b * j.max_blocks, j.lens[b], j.bs, j.kv, h, j.d, nullptr, j.scale, group, j.out + first);
}
}  // namespace attn

// out[b, h] = softmax_j(scale * q[b, h] . k[b, j]) @ v[b, :] over the lens[b] keys of sequence b;
// (sequence, kv head) pairs are shared out over pool_kernel's threads.
extern "C" void paged_decode_attention(const float* q, const float* k_pool, const float* v_pool, const long* tables, long max_blocks,
                                       const long* lens, long batch, long heads, long kv, long bs, long d, float scale, float* out, int threads) {
    const attn::PagedJob job{q, k_pool, v_pool, tables, lens, max_blocks, heads, kv, bs, d, scale, out};
    pool::run(attn::paged_item, &job, batch * kv, threads);
}
"""
