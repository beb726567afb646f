"""Fused q/k/v and gate/up projections against the separate layers they replace."""

import pytest
import torch
from torch.testing import assert_close

from aipath.llm.config import ModelConfig
from aipath.llm.decoder import Decoder
from aipath.llm.fuse import fuse_projections_
from aipath.llm.generate import generate_tokens
from aipath.llm.int8 import quantize_int8_
from aipath.llm.load import weight_bytes
from aipath.llm.sampling import SamplingParams

CFG = ModelConfig.llama(vocab_size=96, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, hidden_dim=96, max_seq_len=32)


def pair(cfg: ModelConfig, int8: bool) -> tuple[Decoder, Decoder]:
    """Two copies of one random model; the second fused."""
    torch.manual_seed(0)
    plain = Decoder(cfg).eval().requires_grad_(False)
    fused = Decoder(cfg).eval().requires_grad_(False)
    fused.load_state_dict(plain.state_dict())
    if int8:
        quantize_int8_(plain), quantize_int8_(fused)
    return plain, fuse_projections_(fused)


@pytest.mark.parametrize("int8", [False, True])
@pytest.mark.parametrize("cfg", [CFG, CFG.with_(qkv_bias=True, qk_norm=True)], ids=["llama", "qwen"])
def test_fused_model_gives_the_same_logits_and_tokens(cfg, int8):
    plain, fused = pair(cfg, int8)
    assert all(layer.attn.qkv is not None and layer.mlp.gate_up is not None for layer in fused.layers)
    tokens = torch.randint(0, 96, (2, 9), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        assert_close(fused(tokens), plain(tokens), rtol=1e-5, atol=1e-5)
    prompts, params = [[5, 6, 7], [9, 10]], SamplingParams(max_tokens=8)
    assert list(generate_tokens(fused, prompts, params)) == list(generate_tokens(plain, prompts, params))


@pytest.mark.parametrize("int8", [False, True])
def test_separate_layers_still_work_and_share_the_fused_storage(int8):
    plain, fused = pair(CFG, int8)
    assert weight_bytes(fused) == weight_bytes(plain)
    x = torch.randn(3, 64)
    attn, ref = fused.layers[0].attn, plain.layers[0].attn
    with torch.inference_mode():
        assert_close(torch.cat([attn.q(x), attn.k(x), attn.v(x)], -1), attn.qkv(x), rtol=1e-5, atol=1e-5)
        assert_close(attn.k(x), ref.k(x), rtol=1e-5, atol=1e-5)


def test_int8_parts_off_the_panel_grid_stay_separate():
    cfg = CFG.with_(dim=40, n_heads=5, n_kv_heads=1, hidden_dim=56)  # head_dim 8: k and v are 8 wide
    plain, fused = pair(cfg, int8=True)
    assert fused.layers[0].attn.qkv is None and fused.layers[0].mlp.gate_up is None
    tokens = torch.tensor([[1, 2, 3]])
    with torch.inference_mode():
        assert_close(fused(tokens), plain(tokens))
