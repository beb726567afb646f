"""The paged fast paths against the naive ones: grouped = naive attention, paged batch = contiguous forward."""

from __future__ import annotations

import copy

import pytest
import torch

from aipath.llm.attention import scaled_dot_product_attention
from aipath.llm.fuse import fuse_projections_
from aipath.serve import decode_kernel, fused_ops, paged_attention
from aipath.serve.block_manager import BlockManager
from aipath.serve.config import EngineConfig
from aipath.serve.model_runner import ModelRunner
from aipath.serve.sampling_params import SamplingParams
from aipath.serve.scheduler import ScheduledBatch
from aipath.serve.sequence import Sequence
from serve_models import tiny_decoder


@pytest.mark.parametrize("q_len", [1, 5])
def test_grouped_attention_equals_naive_attention(q_len):
    torch.manual_seed(0)
    b, h, h_kv, s, d = 3, 6, 2, 11, 8
    q, k, v = torch.randn(b, h, q_len, d), torch.randn(b, h_kv, s, d), torch.randn(b, h_kv, s, d)
    ends = torch.tensor([11, 7, 5])  # keys past a row's end are padding
    query_pos = ends[:, None] - q_len + torch.arange(q_len)
    mask = torch.arange(s) <= query_pos[..., None]  # (B, Q, S): causal within each row's own length
    want = scaled_dot_product_attention(q, k, v, mask[:, None])
    bias = paged_attention.attention_bias(mask, h_kv, h // h_kv, torch.float32)
    got = paged_attention.grouped_attention(q.transpose(1, 2), k, v, bias)
    torch.testing.assert_close(got.transpose(1, 2), want)


def test_write_then_gather_returns_the_blocks_in_table_order():
    pool = paged_attention.new_pool(1, 6, 2, 4, 3, torch.float32, torch.device("cpu"))[0]  # 6 blocks of 4, 2 kv heads
    x = torch.randn(8, 2, 3)  # (tokens, kv heads, head_dim)
    rows = paged_attention.slot_rows(torch.tensor([5, 5, 5, 5, 1, 1, 1, 1]), torch.tensor([0, 1, 2, 3] * 2), 2, 4)
    paged_attention.write(pool, rows, x)  # block 5, then block 1
    got = paged_attention.gather(pool, paged_attention.block_rows(torch.tensor([[5, 1], [1, 5]]), 2), 2)
    assert got.shape == (2, 2, 8, 3)  # (sequences, kv heads, keys, head_dim)
    torch.testing.assert_close(got[0], x.transpose(0, 1))
    torch.testing.assert_close(got[1], torch.cat([x[4:], x[:4]]).transpose(0, 1))


@pytest.mark.parametrize("fused", [False, True])
def test_mixed_batch_logits_equal_each_sequence_alone_through_the_contiguous_forward(model, fused):
    """Decodes, a prefill chunk, a whole prompt and a one-token tail in one step = ``Decoder.forward`` per sequence."""
    model = fuse_projections_(copy.deepcopy(model)) if fused else model
    runner, bm = ModelRunner(model, EngineConfig(block_size=4, num_blocks=64)), BlockManager(64, 4, prefix_caching=False)
    prompts = [[(5 * i + 3 * j) % 256 for j in range(n)] for i, n in enumerate([9, 14, 6, 13, 21])]
    computed = [8, 13, 0, 12, 7]  # two decodes, a whole prompt, a 1-token tail, a 14-token chunk
    seqs = [Sequence(p, SamplingParams()) for p in prompts]
    assert all(bm.allocate(s) for s in seqs)
    cached = [(s, c) for s, c in zip(seqs, computed) if c]
    runner.run(ScheduledBatch([s for s, _ in cached], [c for _, c in cached]), [False] * len(cached))  # the prefixes
    for s, c in zip(seqs, computed):
        s.num_computed_tokens = c
    logits = runner.run(ScheduledBatch(seqs, [len(p) - c for p, c in zip(prompts, computed)]), [True] * len(seqs))
    with torch.inference_mode():
        want = torch.cat([model(torch.tensor([p]))[0, -1:] for p in prompts])
    torch.testing.assert_close(logits, want, rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(not decode_kernel.usable(torch.float32, torch.device("cpu"), 16), reason="no g++ / AVX2 here")
@pytest.mark.parametrize(("h", "h_kv", "d"), [(6, 2, 16), (9, 3, 64), (4, 4, 40), (10, 2, 24)])  # groups of 3, 3, 1 and 5 (the generic path)
def test_decode_kernel_equals_the_torch_path(h, h_kv, d):
    torch.manual_seed(0)
    blocks, size = 40, 4
    k_pool, v_pool = torch.randn(blocks, h_kv, size, d), torch.randn(blocks, h_kv, size, d)
    tables = torch.tensor([[7, 2, 9] + [0] * 9, [4] + [0] * 11, [11, 3, 5] + [0] * 9, list(range(12, 24)), list(range(39, 27, -1))])  # padded with block 0
    lens = torch.tensor([10, 1, 12, 37, 48])  # tails of 0-7 keys past the groups of 8
    q = torch.randn(5, h, d)
    mask = (torch.arange(48) < lens[:, None])[:, None]  # (B, 1, S)
    rows = paged_attention.block_rows(tables, h_kv)
    want = paged_attention.grouped_attention(q[:, None], paged_attention.gather(k_pool, rows, 5), paged_attention.gather(v_pool, rows, 5),
                                             paged_attention.attention_bias(mask, h_kv, h // h_kv, torch.float32))[:, 0]
    torch.testing.assert_close(decode_kernel.decode_attention(q, k_pool, v_pool, tables, lens), want)


@pytest.mark.skipif(fused_ops.load() is None, reason="no g++ / AVX2 here")
def test_fused_ops_equal_the_torch_modules():
    from aipath.llm.mlp import silu
    from aipath.llm.norms import RMSNorm
    from aipath.llm.positions import RotaryEmbedding, apply_rotary

    torch.manual_seed(0)
    n, dim, heads, kv, hd, hidden = 7, 72, 4, 2, 16, 40  # widths with tails past the 8-float vectors
    x, delta = torch.randn(n, dim), torch.randn(n, dim)
    norm = RMSNorm(dim, 1e-5)
    with torch.no_grad():
        norm.weight.normal_()
    want_x = x + delta
    h = fused_ops.add_rms_norm(x, delta, norm.weight, norm.eps)
    assert torch.equal(x, want_x)  # the residual add is the same IEEE addition
    torch.testing.assert_close(h, norm(want_x).detach())
    torch.testing.assert_close(fused_ops.add_rms_norm(x, None, norm.weight, norm.eps), h)

    rope = RotaryEmbedding(hd, 64)
    qkv = torch.randn(n, (heads + 2 * kv) * hd)
    q, k, v = qkv[:, : heads * hd], qkv[:, heads * hd : (heads + kv) * hd], qkv[:, (heads + kv) * hd :]
    positions = torch.tensor([0, 3, 17, 63, 5, 5, 40])
    k_pool, v_pool = torch.zeros(8, kv, 4, hd), torch.zeros(8, kv, 4, hd)
    rows = paged_attention.slot_rows(torch.tensor([1, 1, 2, 7, 0, 3, 6]), torch.tensor([0, 3, 1, 2, 0, 3, 1]), kv, 4)
    got_q = fused_ops.rope_write(q, k, v, heads, kv, hd, rope.cos, rope.sin, positions, k_pool, v_pool, rows)
    cos, sin = rope(positions[None], torch.float32)
    want_q, want_k = apply_rotary(q.view(1, n, heads, hd).transpose(1, 2), k.view(1, n, kv, hd).transpose(1, 2), cos, sin)
    assert torch.equal(got_q, want_q[0].transpose(0, 1))  # same multiplications and additions: bit for bit
    assert torch.equal(k_pool.view(-1, hd)[rows], want_k[0].transpose(0, 1).reshape(-1, hd))
    assert torch.equal(v_pool.view(-1, hd)[rows], v.reshape(-1, hd))

    gate_up = torch.randn(n, 2 * hidden) * 4
    gate, up = gate_up[:, :hidden], gate_up[:, hidden:]
    torch.testing.assert_close(fused_ops.silu_mul(gate, up), silu(gate) * up)


@pytest.mark.skipif(fused_ops.load() is None, reason="no g++ / AVX2 here")
@pytest.mark.parametrize("fuse", [False, True])
def test_fused_runner_equals_the_module_path_over_prefill_and_decode_steps(model, fuse):
    """The same steps through ``ModelRunner`` with and without ``fused_ops``: the same logits, the same cache."""
    model = fuse_projections_(copy.deepcopy(model)) if fuse else model
    runners = [ModelRunner(model, EngineConfig(block_size=4, num_blocks=64)) for _ in range(2)]
    assert runners[0].fused
    runners[1].fused = False
    prompts = [[(5 * i + 3 * j) % 256 for j in range(n)] for i, n in enumerate([9, 14, 6, 1])]
    for runner in runners:
        bm = BlockManager(64, 4, prefix_caching=False)
        seqs = [Sequence(p, SamplingParams()) for p in prompts]
        assert all(bm.allocate(s) for s in seqs)
        outs = []
        for step in range(4):  # a chunked prefill, then decodes of fixed tokens
            counts = [s.num_uncomputed if step else min(s.num_uncomputed, 5) for s in seqs]
            outs.append(runner.run(ScheduledBatch(seqs, counts), [s.num_computed_tokens + c == len(s) for s, c in zip(seqs, counts)]))
            for s, c in zip(seqs, counts):
                s.num_computed_tokens += c
                if s.num_computed_tokens == len(s):
                    s.token_ids.append((7 * len(s)) % 256)
                    assert bm.append_slots(s)
        runner.outs = outs
    for got, want in zip(runners[0].outs, runners[1].outs):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(runners[0].k_cache, runners[1].k_cache, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(runners[0].v_cache, runners[1].v_cache, rtol=1e-4, atol=1e-4)


def test_fused_argmax_picks_torchs_index_ties_and_nan_included():
    torch.manual_seed(0)
    logits = torch.randn(6, 1001)  # a vocabulary with a tail past the 8-float vectors
    logits[1, 5] = logits[1, 700] = 9.0  # a tie: the first index wins
    logits[2] = float("-inf")
    logits[3, 1000] = 50.0  # the maximum in the tail
    logits[4, :] = 0.0
    assert fused_ops.argmax(logits) == logits.argmax(-1).tolist() == [fused_ops.argmax(row[None])[0] for row in logits]
    logits[5, 17] = float("nan")  # torch ranks NaN highest; the kernel hands such rows to torch
    assert fused_ops.argmax(logits) == logits.argmax(-1).tolist()
    assert fused_ops.argmax(logits[:, ::2]) == logits[:, ::2].argmax(-1).tolist()  # strided: torch's own
