"""Each building block against its PyTorch / ``transformers`` counterpart."""

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from aipath.llm.attention import build_mask, scaled_dot_product_attention
from aipath.llm.config import ModelConfig
from aipath.llm.decoder import Decoder
from aipath.llm.flash import flash_attention
from aipath.llm.mlp import GeluMLP, SwiGLU, gelu, gelu_tanh, silu
from aipath.llm.norms import LayerNorm, RMSNorm
from aipath.llm.positions import RotaryEmbedding, apply_rotary, sinusoidal_table

g = torch.Generator().manual_seed(0)


def qkv(b=2, h=4, h_kv=2, t=7, s=7, d=16):
    return torch.randn(b, h, t, d, generator=g), torch.randn(b, h_kv, s, d, generator=g), torch.randn(b, h_kv, s, d, generator=g)


def padded_mask(t: int, start: int = 0) -> torch.Tensor:
    valid = torch.ones(2, start + t, dtype=torch.bool)
    valid[1, :3] = False
    return build_mask(t, start, valid)


@pytest.mark.parametrize("h_kv", [4, 2, 1])
@pytest.mark.parametrize("masking", ["none", "causal", "causal+padding"])
def test_attention_matches_torch_sdpa(h_kv, masking):
    q, k, v = qkv(h_kv=h_kv)
    mask = {"none": None, "causal": build_mask(7, 0, None), "causal+padding": padded_mask(7)}[masking]
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
    got = scaled_dot_product_attention(q, k, v, mask)
    seen = torch.ones(2, 1, 7, dtype=torch.bool) if mask is None else mask.any(-1).expand(2, 1, 7)
    seen = seen.expand(2, 4, 7)  # torch leaves rows with no allowed key undefined: compare the rest
    assert_close(got[seen], ref[seen])


def test_attention_with_cached_prefix_uses_offset_causal_mask():
    q, k, v = qkv(t=3, s=8)
    mask = build_mask(3, 5, None)  # 5 cached keys, 3 new queries
    assert mask.shape == (1, 1, 3, 8) and mask[0, 0, 0].tolist() == [True] * 6 + [False] * 2
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
    assert_close(scaled_dot_product_attention(q, k, v, mask), ref)


@pytest.mark.parametrize("blocks", [(4, 4), (3, 5), (32, 32)])
def test_flash_attention_equals_naive(blocks):
    q, k, v = qkv(t=13, s=13, h_kv=2)
    mask = padded_mask(13)
    ref = scaled_dot_product_attention(q, k, v, mask)
    assert_close(flash_attention(q, k, v, mask, *blocks), ref, rtol=1e-5, atol=1e-5)
    assert_close(flash_attention(q, k, v, None, *blocks), scaled_dot_product_attention(q, k, v), rtol=1e-5, atol=1e-5)


def test_fully_masked_rows_stay_finite_and_agree():
    q, k, v = qkv(t=5, s=5)
    mask = padded_mask(5)  # row 1 queries 0..2 see only padding
    naive = scaled_dot_product_attention(q, k, v, mask)
    assert torch.isfinite(naive).all()
    assert_close(flash_attention(q, k, v, mask, 2, 2), naive, rtol=1e-5, atol=1e-5)


def test_norms_match_torch():
    x = torch.randn(3, 5, 32, generator=g)
    ln = LayerNorm(32, 1e-5)
    ref_ln = torch.nn.LayerNorm(32, 1e-5)
    with torch.no_grad():
        for p in (ln.weight, ln.bias):
            p.normal_()
        ref_ln.weight.copy_(ln.weight), ref_ln.bias.copy_(ln.bias)
    assert_close(ln(x), ref_ln(x))
    rms = RMSNorm(32, 1e-6)
    ref_rms = torch.nn.RMSNorm(32, eps=1e-6)
    with torch.no_grad():
        rms.weight.normal_()
        ref_rms.weight.copy_(rms.weight)
    assert_close(rms(x), ref_rms(x))


def test_activations_and_mlps_match_torch():
    x = torch.randn(4, 16, generator=g)
    assert_close(gelu(x), F.gelu(x))
    assert_close(gelu_tanh(x), F.gelu(x, approximate="tanh"))
    assert_close(silu(x), F.silu(x))
    mlp = SwiGLU(16, 24)
    assert_close(mlp(x), F.linear(F.silu(F.linear(x, mlp.gate.weight)) * F.linear(x, mlp.up.weight), mlp.down.weight))
    gm = GeluMLP(16, 24)
    assert_close(gm(x), F.linear(F.gelu(F.linear(x, gm.up.weight, gm.up.bias), approximate="tanh"), gm.down.weight, gm.down.bias))


def test_sinusoidal_table_matches_transformers():
    from transformers.models.distilbert.modeling_distilbert import create_sinusoidal_embeddings

    ref = torch.empty(50, 32)
    create_sinusoidal_embeddings(50, 32, ref)
    assert_close(sinusoidal_table(50, 32), ref)


def test_rope_matches_transformers_llama():
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

    cfg = LlamaConfig(hidden_size=64, num_attention_heads=4, max_position_embeddings=32, rope_theta=500.0)
    q, k, _ = qkv(h_kv=4, t=6, s=6)
    pos = torch.tensor([[0, 1, 2, 3, 4, 5], [3, 4, 7, 9, 10, 20]])
    cos, sin = LlamaRotaryEmbedding(cfg)(q, pos)
    ref = apply_rotary_pos_emb(q, k, cos, sin)
    got = apply_rotary(q, k, *RotaryEmbedding(16, 32, 500.0)(pos, q.dtype))
    assert_close(got[0], ref[0]), assert_close(got[1], ref[1])


def test_cached_decoding_equals_uncached_forward():
    torch.manual_seed(0)
    cfg = ModelConfig.llama(vocab_size=50, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, hidden_dim=48, max_seq_len=32)
    model = Decoder(cfg).eval()
    tokens = torch.randint(0, 50, (2, 12))
    with torch.no_grad():
        full = model(tokens)
        cache = model.new_cache(2, 16)
        steps = [model(tokens[:, :5], cache)] + [model(tokens[:, i : i + 1], cache) for i in range(5, 12)]
    assert cache.length == 12
    assert_close(torch.cat(steps, dim=1), full, rtol=1e-5, atol=1e-5)


def test_cache_overflow_is_a_clear_error():
    cfg = ModelConfig.gpt2(vocab_size=20, dim=16, n_layers=1, n_heads=2, hidden_dim=32, max_seq_len=16)
    model = Decoder(cfg)
    cache = model.new_cache(1, 4)
    with pytest.raises(ValueError, match="KV cache full"):
        model(torch.zeros(1, 5, dtype=torch.long), cache)
