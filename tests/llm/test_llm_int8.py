"""Int8 weight-only: per-channel quantisation, the panel layout and the AVX2 kernel, against float matmuls of the same numbers."""

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from aipath.llm import int8, int8_kernel
from aipath.llm.config import ModelConfig
from aipath.llm.decoder import Decoder
from aipath.llm.int8 import Int8Embedding, Int8Linear, panel_rows, quantize_int8_, quantize_per_channel, to_panels
from aipath.llm.int8_kernel import load_kernel
from aipath.llm.load import weight_bytes

g = torch.Generator().manual_seed(0)
needs_kernel = pytest.mark.skipif(load_kernel() is None, reason="int8 kernel not built here (no g++ or no AVX2)")


def test_per_channel_quantisation_error_is_at_most_half_a_step():
    w = torch.randn(16, 40, generator=g)
    q, scale = quantize_per_channel(w)
    assert q.dtype == torch.int8 and q.abs().max() == 127
    assert ((q.float() * scale[:, None] - w).abs() <= scale[:, None] / 2 + 1e-7).all()


def test_panels_round_trip_to_rows():
    q = torch.randint(-127, 128, (37, 11), generator=g, dtype=torch.int8)
    panels = to_panels(q)
    assert panels.shape == (3, 11, 16)
    assert torch.equal(panel_rows(panels, torch.arange(37)), q)
    ids = torch.tensor([[5, 36], [0, 16]])
    assert torch.equal(panel_rows(panels, ids), q[ids])


@needs_kernel
@pytest.mark.parametrize("m", [1, 2, 3, 5, 6, 7, 13])
@pytest.mark.parametrize("bias", [True, False])
def test_kernel_equals_float_matmul_of_dequantised_weights(m, bias):
    lin = torch.nn.Linear(43, 37, bias=bias)  # odd K, N not a multiple of the panel width
    layer = Int8Linear.from_linear(lin)
    x = torch.randn(m, 43, generator=g)
    ref = F.linear(x, layer.dequantized(), lin.bias)
    assert_close(layer(x), ref, rtol=1e-5, atol=1e-5)
    assert_close(layer(x.view(1, m, 43)), ref.view(1, m, 37), rtol=1e-5, atol=1e-5)


@needs_kernel
def test_kernel_splits_panels_over_threads():
    torch.set_num_threads(2)  # the suite's fixture restores one thread afterwards
    lin = torch.nn.Linear(64, 400 * 16 + 5)
    layer = Int8Linear.from_linear(lin)
    x = torch.randn(3, 64, generator=g)
    assert_close(layer(x), F.linear(x, layer.dequantized(), lin.bias), rtol=1e-5, atol=1e-5)


def test_fallback_without_kernel_gives_the_same_numbers(monkeypatch):
    lin = torch.nn.Linear(40, 24)
    layer = Int8Linear.from_linear(lin)
    q, scale = quantize_per_channel(lin.weight.detach())
    x = torch.randn(2, 3, 40, generator=g)
    ref = F.linear(x, q.float() * scale[:, None], lin.bias)
    assert_close(layer(x), ref, rtol=1e-5, atol=1e-5)
    monkeypatch.setattr(int8, "load_kernel", lambda: None)
    assert_close(layer(x), ref, rtol=1e-5, atol=1e-5)
    assert layer(x.bfloat16()).dtype == torch.bfloat16


def test_quantized_model_shares_tied_table_and_shrinks():
    cfg = ModelConfig.llama(vocab_size=200, dim=64, n_layers=2, n_heads=4, hidden_dim=96, max_seq_len=16)
    model = Decoder(cfg).eval()
    before = weight_bytes(model)
    quantize_int8_(model)
    assert isinstance(model.embed, Int8Embedding) and model.embed.panels is model.lm_head.panels
    assert weight_bytes(model) < before / 2
    ids = torch.tensor([[3, 7]])
    assert_close(model.embed(ids), model.lm_head.dequantized()[ids])


def _matmul_in_child(layer: Int8Linear, x: torch.Tensor) -> torch.Tensor:
    torch.set_num_threads(2)
    return layer(x)


@needs_kernel
def test_kernel_pool_survives_fork_and_concurrent_callers():
    """The pool's threads do not exist in a forked child, and two Python threads may call at once."""
    import multiprocessing
    from concurrent.futures import ThreadPoolExecutor

    torch.set_num_threads(2)
    layer = Int8Linear.from_linear(torch.nn.Linear(64, 700))
    x = torch.randn(5, 64, generator=g)
    want = F.linear(x, layer.dequantized(), layer.bias[:700])
    assert_close(layer(x), want, rtol=1e-5, atol=1e-5)  # the parent's pool is running now
    with multiprocessing.get_context("fork").Pool(1) as child:
        assert_close(child.apply_async(_matmul_in_child, (layer, x)).get(timeout=60), want, rtol=1e-5, atol=1e-5)
    with ThreadPoolExecutor(4) as callers:
        for got in callers.map(lambda _: layer(x), range(32)):
            assert_close(got, want, rtol=1e-5, atol=1e-5)


@needs_kernel
@pytest.mark.parametrize("tied", [True, False])
def test_embedding_lookup_in_cpp_equals_torch_gather_bit_for_bit(tied, monkeypatch):
    cfg = ModelConfig.llama(vocab_size=37, dim=40, n_layers=1, n_heads=4, hidden_dim=48, max_seq_len=16, tie_embeddings=tied)
    emb = quantize_int8_(Decoder(cfg).eval()).embed
    ids = torch.tensor([[0, 15, 16, 17, 36], [36, 3, 3, 31, 32]])  # panel edges, the last real row, repeats
    calls = []
    monkeypatch.setattr(int8, "q8_embed", lambda *a: calls.append(1) or int8_kernel.q8_embed(*a))
    fast = [emb(ids), emb(ids[0]), emb(ids[:, :1]), emb(torch.tensor([39]))]  # 39: a padding row of the last panel
    assert len(calls) == 4 and fast[0].shape == (2, 5, 40) and fast[2].shape == (2, 1, 40)
    monkeypatch.setattr(int8, "load_kernel", lambda: None)
    slow = [emb(ids), emb(ids[0]), emb(ids[:, :1]), emb(torch.tensor([39]))]
    assert len(calls) == 4
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype == torch.float32 and torch.equal(a, b)
    assert torch.equal(slow[0], panel_rows(emb.panels, ids).float() * emb.scale[ids, None])


@needs_kernel
def test_embedding_ids_outside_the_table_behave_as_torch_indexing():
    emb = quantize_int8_(Decoder(ModelConfig.llama(vocab_size=20, dim=16, n_layers=1, n_heads=2, hidden_dim=32, max_seq_len=8)).eval()).embed
    assert emb.scale.shape[0] == 32  # two panels: rows 20-31 are padding
    assert int8_kernel.q8_embed(emb.panels, emb.scale, torch.tensor([3, 32])) is None  # the kernel refuses ...
    with pytest.raises(IndexError):  # ... and torch reports it
        emb(torch.tensor([3, 32]))
    assert torch.equal(emb(torch.tensor([-1])), emb(torch.tensor([31])))  # torch's negative indexing, as before
    assert torch.equal(emb(torch.tensor([2, 5], dtype=torch.int32)), emb(torch.tensor([2, 5])))  # int32 ids: torch's path
