"""The C++ decode step (one call per block, int8) against the PyTorch modules it replaces."""

import pytest
import torch
from torch.testing import assert_close

from aipath.llm import decoder, fused_decode, int8, row_ops_kernel, sampling
from aipath.llm.config import ModelConfig
from aipath.llm.decoder import Decoder
from aipath.llm.fuse import fuse_projections_
from aipath.llm.generate import generate_tokens
from aipath.llm.int8 import Int8Linear, quantize_int8_
from aipath.llm.norms import LayerNorm, RMSNorm
from aipath.llm.sampling import SamplingParams

pytestmark = pytest.mark.skipif(fused_decode.load_kernel() is None, reason="decode kernel not built here (no g++ or no AVX2)")
CFG = ModelConfig.llama(vocab_size=96, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, hidden_dim=96, max_seq_len=48)


def model(cfg: ModelConfig = CFG, seed: int = 0) -> Decoder:
    torch.manual_seed(seed)
    return fuse_projections_(quantize_int8_(Decoder(cfg).eval().requires_grad_(False)))


def decode_logits(m: Decoder, fused: bool, prompts: list[list[int]], steps: int) -> list[torch.Tensor]:
    """Logits of ``steps`` decode steps after a left-padded prefill, feeding fixed tokens."""
    m.fused_decode = fused
    width = max(map(len, prompts))
    valid = torch.tensor([[False] * (width - len(p)) + [True] * (len(p) + steps) for p in prompts])
    tokens = torch.tensor([[p[0]] * (width - len(p)) + p for p in prompts])
    cache, out = m.new_cache(len(prompts), width + steps), []
    with torch.inference_mode():
        m(tokens, cache, valid[:, :width])
        for s in range(steps):
            new = torch.arange(len(prompts))[:, None] * 7 % 96 + s
            out.append(m(new, cache, valid[:, : width + s + 1]))
    return out


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(
    "cfg",
    [CFG, CFG.with_(qkv_bias=True), CFG.with_(n_kv_heads=1, dim=96, n_heads=3, hidden_dim=160), CFG.with_(n_kv_heads=4)],
    ids=["gqa", "qkv-bias", "mqa-head32", "mha"],
)
def test_fused_steps_give_the_modules_logits(cfg, threads):
    torch.set_num_threads(threads)  # the suite's fixture restores one thread afterwards
    m = model(cfg)
    prompts = [[1, 2, 3, 4, 5], [6, 7], [8]] + [[i, i + 1, i + 2] for i in range(10, 20)]  # 13 rows: full tiles and a remainder
    fast = decode_logits(m, True, prompts, 6)
    assert m._plan is not None  # the fused path ran
    slow = decode_logits(m, False, prompts, 6)
    for a, b in zip(fast, slow):
        assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_greedy_generation_is_identical():
    m = model()
    prompts, params = [[5, 6, 7], [9, 10], [11]], SamplingParams(max_tokens=20)
    fast = list(generate_tokens(m, prompts, params))
    m.fused_decode = False
    assert list(generate_tokens(m, prompts, params)) == fast


def test_kv_cache_holds_the_same_keys_and_values():
    m = model()
    caches = []
    for fused in (True, False):
        m.fused_decode = fused
        cache = m.new_cache(2, 16)
        with torch.inference_mode():
            m(torch.tensor([[1, 2, 3], [4, 5, 6]]), cache)
            m(torch.tensor([[7], [8]]), cache)
        caches.append(cache)
    assert caches[0].length == caches[1].length == 4
    assert_close(caches[0].k, caches[1].k, rtol=1e-5, atol=1e-5)
    assert_close(caches[0].v, caches[1].v, rtol=1e-5, atol=1e-5)


def test_replaced_weights_rebuild_the_plan():
    m, other = model(seed=0), model(seed=1)
    decode_logits(m, True, [[1, 2]], 1)
    first = m._plan
    m.layers[1].mlp.down = other.layers[1].mlp.down
    after = decode_logits(m, True, [[1, 2]], 2)
    assert m._plan is not first
    assert_close(after[-1], decode_logits(m, False, [[1, 2]], 2)[-1], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", ["float32", "qk_norm", "grad"])
def test_models_the_kernel_does_not_fit_run_the_modules(case):
    torch.manual_seed(0)
    if case == "qk_norm":
        m = model(CFG.with_(qk_norm=True))
    else:
        m = fuse_projections_(Decoder(CFG).eval()) if case == "float32" else model()
    cache = m.new_cache(1, 8)
    with torch.inference_mode() if case != "grad" else torch.enable_grad():
        m(torch.tensor([[1, 2]]), cache)
        m(torch.tensor([[3]]), cache)
    assert m._plan is None
    assert case == "float32" or isinstance(m.layers[0].attn.qkv, Int8Linear)


def test_full_cache_is_refused():
    m = model()
    cache = m.new_cache(1, 2)
    with torch.inference_mode(), pytest.raises(ValueError, match="KV cache full"):
        m(torch.tensor([[1, 2]]), cache)
        m(torch.tensor([[3]]), cache)


def test_a_row_with_no_allowed_key_averages_them_all_like_the_reference():
    m = model()
    valid = torch.tensor([[True, True, True], [False, False, False]])
    out = []
    for fused in (True, False):
        m.fused_decode = fused
        cache = m.new_cache(2, 8)
        with torch.inference_mode():
            m(torch.tensor([[1, 2], [3, 4]]), cache, valid[:, :2])
            out.append(m(torch.tensor([[5], [6]]), cache, valid))
    assert_close(out[0], out[1], rtol=1e-4, atol=1e-4)


def test_final_rms_norm_in_cpp_equals_the_module():
    norm = RMSNorm(72, eps=1e-5)
    with torch.no_grad():
        norm.weight.normal_()
    x = torch.randn(13, 72) * 3
    keep = x.clone()
    assert_close(row_ops_kernel.add_rms_norm(x, None, norm.weight, norm.eps), norm(x), rtol=1e-5, atol=1e-5)
    assert torch.equal(x, keep)  # no delta: x is left alone


def naive(m: Decoder, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every decode-loop shortcut off: module blocks, torch's gather, torch's final norm, torch's argmax."""
    m.fused_decode = False
    monkeypatch.setattr(int8, "load_kernel", lambda: None)  # the embedding's gather (and the dequantising matmul)
    monkeypatch.setattr(sampling, "argmax_rows", lambda logits: logits.argmax(-1))


@pytest.mark.parametrize("threads", [1, 2])
def test_optimised_decode_loop_gives_the_naive_loops_logits_and_greedy_tokens(threads, monkeypatch):
    torch.set_num_threads(threads)  # the suite's fixture restores one thread afterwards
    m = model(CFG.with_(vocab_size=200))  # 200: the last embedding panel is padded
    prompts = [[1, 2, 3, 4, 5], [6, 7], [8]] + [[i, i + 1, i + 2] for i in range(150, 160)]
    norms = []
    monkeypatch.setattr(decoder, "add_rms_norm", lambda *a: norms.append(1) or row_ops_kernel.add_rms_norm(*a))
    fast_logits = decode_logits(m, True, prompts, 6)
    fast = list(generate_tokens(m, prompts, SamplingParams(max_tokens=20)))
    assert len(norms) == 6 + 19 and m._plan is not None
    naive(m, monkeypatch)
    for a, b in zip(fast_logits, decode_logits(m, False, prompts, 6)):
        assert_close(a, b, rtol=1e-4, atol=1e-4)
    assert list(generate_tokens(m, prompts, SamplingParams(max_tokens=20))) == fast
    assert len(norms) == 6 + 19  # the naive loop never took the C++ final norm


def test_a_replaced_final_norm_drops_the_plan():
    m = model()
    decode_logits(m, True, [[1, 2]], 1)
    assert m._plan is not None
    m.norm = LayerNorm(CFG.dim)
    decode_logits(m, True, [[1, 2]], 1)
    assert m._plan is None
