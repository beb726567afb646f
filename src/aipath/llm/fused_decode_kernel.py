"""C++ source of one whole decoder block at decode time (one new token per row), for int8 weights.

Decoding SmolLM2 one token at a time ran about sixty PyTorch operations per block (norms,
rope, cache writes, attention, residual adds, SiLU): 30 blocks x 60 x several microseconds
of dispatch cost more than all the weight multiplications, and PyTorch's fused attention
spent 0.1 ms (batch 1) to 1.3 ms (batch 32) per call on a single query. Here a block is one
call; its steps are split over ``pool_kernel``'s threads, each step waiting for the whole
of the previous one:

1. RMSNorm (on the calling thread: a few microseconds), q/k/v matmul;
2. per (row, kv head): rope on its key and its query heads, the key and value written to
   the cache, attention of the query heads over the cached keys (``attention_kernel``; the
   padding mask is the row's ``key_valid``);
3. output projection added onto the residual ``x`` in the matmul's epilogue;
4. RMSNorm again, then gate and up panels in pairs, so ``silu(gate) * up`` is computed while
   both are in registers' reach and the 2 x hidden intermediate is never stored;
5. down projection added onto ``x``.

The cache is addressed through block tables (``attention_kernel``), so one block code
serves both the LLM's contiguous ``KVCache`` (row b owns block b of ``max_len`` slots) and
the serving engine's paged pool (its sequences' block tables); the new key and value of
row b go to position ``lens[b] - 1``.

The arithmetic is the written-out model's (``attention.scaled_dot_product_attention``,
``norms.RMSNorm``, ``positions.apply_rotary``, ``mlp.SwiGLU``) in float32; only the order
of additions differs, and the exponential is a Cephes-style polynomial (about 1 ulp).
Norms, rope and SiLU are ``row_ops_kernel``'s. It is compiled into the same library as
``int8_kernel``'s matmul (one thread pool).
"""

LAYER_SOURCE = r"""
#include <vector>

namespace dec {
using q8::NR;

struct Dims {
    long dim, hidden, heads, kv_heads, head_dim;
    float eps;
};

struct Layer {
    const float* attn_norm;
    const float* mlp_norm;
    q8::Weights qkv, o, gate_up, down;
};

// Where every row's keys live (attention_kernel's layout): row m's key j is in slot j % block_size
// of block tables[m * max_blocks + j / block_size]; lens[m] keys after this step. valid: (M, valid_stride)
// bytes, 0 at left padding, or null.
struct Cache {
    const long* tables;
    long max_blocks;
    const long* lens;
    long block_size;
    const uint8_t* valid;
    long valid_stride;
};

struct Step {
    const Dims* d;
    const Cache* c;
    long M;
    float *qkv, *att, *act, *k, *v;
    const float *h, *cos, *sin;
    long chunk;
    const q8::Weights* gate_up;
};

// Step 2 for item (row, kv head): rope, the key and value written at position lens[m] - 1, attention into att.
void attention_item(const void* ctx, long i) {
    const Step& st = *static_cast<const Step*>(ctx);
    const Dims& d = *st.d;
    const Cache& c = *st.c;
    const long hd = d.head_dim, H = d.heads, Hkv = d.kv_heads, g = H / Hkv;
    const long nq = H * hd, nkv = Hkv * hd, nqkv = nq + 2 * nkv;
    const long m = i / Hkv, kh = i % Hkv, n = c.lens[m], pos = n - 1;
    const long* table = c.tables + m * c.max_blocks;
    float* row = st.qkv + m * nqkv;
    const float* cs = st.cos + m * hd;
    const float* sn = st.sin + m * hd;
    const long slot = ((table[pos / c.block_size] * Hkv + kh) * c.block_size + pos % c.block_size) * hd;
    ops::rope(row + nq + kh * hd, st.k + slot, cs, sn, hd);
    for (long e = 0; e < hd; ++e) st.v[slot + e] = row[nq + nkv + kh * hd + e];
    for (long h = kh * g; h < (kh + 1) * g; ++h) ops::rope(row + h * hd, row + h * hd, cs, sn, hd);
    const uint8_t* valid = c.valid ? c.valid + m * c.valid_stride : nullptr;
    attn::attend_table(row + kh * g * hd, st.k, st.v, table, n, c.block_size, Hkv, kh, hd, valid, 1.0f / std::sqrt(float(hd)), g,
                       st.att + m * nq + kh * g * hd);
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
        for (long m = 0; m < M; ++m) ops::silu_mul(gate.data() + m * NR, up.data() + m * NR, NR, st.act + m * F + p * NR);
    }
}
}  // namespace dec

// One decoder block on x (M rows, one new token each), in place. k/v: this layer's cache, as
// dec::Cache describes it. cos/sin: (M, head_dim), the rows' rope tables.
extern "C" void q8_decode_layer(const dec::Layer* L, const dec::Dims* d, float* x, long M, const float* cos, const float* sin,
                                float* k, float* v, const dec::Cache* cache, int threads) {
    const long D = d->dim, F = d->hidden, nq = d->heads * d->head_dim, nqkv = nq + 2 * d->kv_heads * d->head_dim;
    static thread_local std::vector<float> work;  // reused: no allocation (or page faults) per call
    if ((long)work.size() < M * (D + nqkv + nq + F)) work.resize(M * (D + nqkv + nq + F));
    float *h = work.data(), *qkv = h + M * D, *att = qkv + M * nqkv, *act = att + M * nq;
    const long pairs = F / q8::NR, chunk = pairs / (8L * threads) > 1 ? pairs / (8L * threads) : 1;
    const dec::Step st{d, cache, M, qkv, att, act, k, v, h, cos, sin, chunk, &L->gate_up};
    ops::add_norm_rows(x, nullptr, L->attn_norm, h, M, D, d->eps);
    q8::linear(h, M, D, L->qkv, qkv, nqkv, false, threads);
    pool::run(dec::attention_item, &st, M * d->kv_heads, threads);
    q8::linear(att, M, nq, L->o, x, D, true, threads);
    ops::add_norm_rows(x, nullptr, L->mlp_norm, h, M, D, d->eps);
    pool::run(dec::swiglu_chunk, &st, (pairs + chunk - 1) / chunk, threads);
    q8::linear(act, M, F, L->down, x, D, true, threads);
}
"""
