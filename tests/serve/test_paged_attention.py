"""The paged fast paths against the naive ones: grouped = naive attention, paged batch = contiguous forward."""

from __future__ import annotations

import copy

import pytest
import torch

from aipath.llm.attention import scaled_dot_product_attention
from aipath.llm.fuse import fuse_projections_
from aipath.serve import decode_kernel, paged_attention
from aipath.serve.block_manager import BlockManager
from aipath.serve.config import EngineConfig
from aipath.serve.model_runner import ModelRunner
from aipath.serve.sampling_params import SamplingParams
from aipath.serve.scheduler import ScheduledBatch
from aipath.serve.sequence import Sequence


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
def test_decode_kernel_equals_the_torch_path():
    torch.manual_seed(0)
    blocks, h, h_kv, size, d = 12, 6, 2, 4, 16
    k_pool, v_pool = torch.randn(blocks, h_kv, size, d), torch.randn(blocks, h_kv, size, d)
    tables = torch.tensor([[7, 2, 9], [4, 0, 0], [11, 3, 5]])  # padded with block 0
    lens = torch.tensor([10, 1, 12])
    q = torch.randn(3, h, d)
    mask = (torch.arange(12) < lens[:, None])[:, None]  # (B, 1, S)
    rows = paged_attention.block_rows(tables, h_kv)
    want = paged_attention.grouped_attention(q[:, None], paged_attention.gather(k_pool, rows, 3), paged_attention.gather(v_pool, rows, 3),
                                             paged_attention.attention_bias(mask, h_kv, h // h_kv, torch.float32))[:, 0]
    torch.testing.assert_close(decode_kernel.decode_attention(q, k_pool, v_pool, tables, lens), want)
