"""Int8 weight-only: per-channel quantisation and the layer, against float matmuls of the same numbers."""

import torch
import torch.nn.functional as F
from torch.testing import assert_close

from aipath.llm.config import ModelConfig
from aipath.llm.decoder import Decoder
from aipath.llm.int8 import Int8Embedding, Int8Linear, quantize_int8_, quantize_per_channel
from aipath.llm.load import weight_bytes

g = torch.Generator().manual_seed(0)


def test_per_channel_quantisation_error_is_at_most_half_a_step():
    w = torch.randn(16, 40, generator=g)
    q, scale = quantize_per_channel(w)
    assert q.dtype == torch.int8 and q.abs().max() == 127
    assert ((q.float() * scale[:, None] - w).abs() <= scale[:, None] / 2 + 1e-7).all()


def test_weight_only_kernel_equals_float_matmul_of_dequantised_weights():
    lin = torch.nn.Linear(40, 24)
    q, scale = quantize_per_channel(lin.weight.detach())
    x = torch.randn(2, 3, 40, generator=g)
    ref = F.linear(x, q.float() * scale[:, None], lin.bias)
    assert_close(Int8Linear.from_linear(lin)(x), ref, rtol=1e-5, atol=1e-5)


def test_quantized_model_shares_tied_table_and_shrinks():
    cfg = ModelConfig.llama(vocab_size=200, dim=64, n_layers=2, n_heads=4, hidden_dim=96, max_seq_len=16)
    model = Decoder(cfg).eval()
    before = weight_bytes(model)
    quantize_int8_(model)
    assert isinstance(model.embed, Int8Embedding) and model.embed.q is model.lm_head.q
    assert weight_bytes(model) < before / 2
    ids = torch.tensor([[3, 7]])
    assert_close(model.embed(ids), model.lm_head.q[ids].float() * model.lm_head.scale[ids, None])
