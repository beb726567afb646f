"""The serving engine's one-call-per-block int8 decode steps against the unfused paged paths and the contiguous forward."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from aipath.llm import fused_decode
from aipath.llm.config import ModelConfig
from aipath.llm.decoder import Decoder
from aipath.llm.fuse import fuse_projections_
from aipath.llm.int8 import quantize_int8_
from aipath.serve.block_manager import BlockManager
from aipath.serve.config import EngineConfig
from aipath.serve.engine import LLMEngine
from aipath.serve.model_runner import ModelRunner
from aipath.serve.sampling_params import SamplingParams
from aipath.serve.scheduler import ScheduledBatch
from aipath.serve.sequence import Sequence
from serve_models import EOS, one_at_a_time, tiny_decoder

pytestmark = pytest.mark.skipif(fused_decode.load_kernel() is None, reason="decode kernel not built here (no g++ or no AVX2)")
LENGTHS = [1, 3, 4, 5, 8, 9, 12, 17, 2]  # prompts ending before, on and after block boundaries (blocks of 4)


def int8_model(family: str = "gqa", seed: int = 0) -> Decoder:
    """``tiny_decoder`` (4 heads, 2 kv heads) or a 3-heads-per-kv-head variant, int8 with fused projections."""
    if family == "gqa":
        model = tiny_decoder("llama", seed)
    else:
        torch.manual_seed(seed)
        model = Decoder(ModelConfig.llama(vocab_size=EOS + 1, dim=96, n_layers=2, n_heads=3, n_kv_heads=1, hidden_dim=160, max_seq_len=512))
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0, 0.5 if p.ndim > 1 else 0.1)
    return fuse_projections_(quantize_int8_(model.eval().requires_grad_(False)))


def runner_steps(runner: ModelRunner, prompts: list[list[int]], decodes: int) -> list[torch.Tensor]:
    """Logits of a one-step prefill of every prompt, then ``decodes`` decode-only steps feeding fixed tokens."""
    bm = BlockManager(128, runner.config.block_size, prefix_caching=False)
    seqs = [Sequence(list(p), SamplingParams()) for p in prompts]
    assert all(bm.allocate(s) for s in seqs)
    outs = []
    for _ in range(decodes + 1):
        counts = [s.num_uncomputed for s in seqs]
        outs.append(runner.run(ScheduledBatch(seqs, counts), [True] * len(seqs)))
        for s, c in zip(seqs, counts):
            s.num_computed_tokens += c
            s.token_ids.append((7 * len(s) + 3) % EOS)
            assert bm.append_slots(s)
    runner.seqs = seqs
    return outs


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("family", ["gqa", "group3"])
def test_block_decode_steps_equal_the_fused_ops_and_module_paths(family, threads, monkeypatch):
    torch.set_num_threads(threads)  # the suite's fixture restores one thread afterwards
    model = int8_model(family)
    prompts = [[(5 * i + 3 * j) % EOS for j in range(n)] for i, n in enumerate(LENGTHS)]
    runners = [ModelRunner(model, EngineConfig(block_size=4, num_blocks=128)) for _ in range(3)]
    assert runners[0].block_decode is not None and runners[1].fused
    runners[1].block_decode = None  # fused_step only
    runners[2].block_decode, runners[2].fused = None, False  # the module path: the reference
    calls = []
    block_run = runners[0].block_decode.run
    monkeypatch.setattr(runners[0].block_decode, "run", lambda lay: calls.append(1) or block_run(lay))
    outs = [runner_steps(r, prompts, 6) for r in runners]
    assert len(calls) == 6  # every decode step took the block kernel, the prefill did not
    for fast, ops, ref in zip(*outs):
        assert_close(fast, ref, rtol=1e-4, atol=1e-4)
        assert_close(ops, ref, rtol=1e-4, atol=1e-4)
    for r in runners[:2]:  # the same keys and values in the same slots
        assert_close(r.k_cache, runners[2].k_cache, rtol=1e-4, atol=1e-4)
        assert_close(r.v_cache, runners[2].v_cache, rtol=1e-4, atol=1e-4)


def test_block_decode_logits_equal_each_sequence_alone_through_the_contiguous_forward():
    model = int8_model()
    prompts = [[(11 * i + j) % EOS for j in range(n)] for i, n in enumerate(LENGTHS)]
    runner = ModelRunner(model, EngineConfig(block_size=4, num_blocks=128))
    last = runner_steps(runner, prompts, 5)[-1]
    model.fused_decode = False
    with torch.inference_mode():
        for row, seq in zip(last, runner.seqs):
            tokens = torch.tensor([seq.token_ids[:-1]])  # the last appended token was never fed
            assert_close(row, model(tokens)[0, -1], rtol=1e-4, atol=1e-4)


def oracle(model: Decoder, prompt: list[int], n: int) -> list[int]:
    """The plain generate loop through the modules (not the block kernel) on a contiguous cache."""
    model.fused_decode = False
    try:
        return one_at_a_time(model, prompt, n)
    finally:
        model.fused_decode = True


def test_greedy_engine_tokens_equal_the_plain_loop_with_prefix_cache_hits():
    model = int8_model()
    engine = LLMEngine(model, config=EngineConfig(block_size=4, num_blocks=256))
    assert engine.runner.block_decode is not None
    shared = [(3 * j + 1) % EOS for j in range(13)]
    prompts = [shared + [i, i + 1] for i in range(5)] + [[7], [8, 9, 10, 11]]
    engine.generate(prompts[:1], SamplingParams(max_tokens=10))
    out = engine.generate(prompts, SamplingParams(max_tokens=10))
    assert engine.block_manager.prefix_hits >= 4 * 12
    assert [o.token_ids for o in out] == [oracle(model, p, 10) for p in prompts]
    again = engine.generate([prompts[0]], SamplingParams(max_tokens=10))  # the whole prompt cached but its last token
    assert again[0].token_ids == out[0].token_ids


def test_a_decode_step_returns_the_logits_of_the_rows_that_sample_only():
    model = int8_model()
    prompts = [[(5 * i + j) % EOS for j in range(n)] for i, n in enumerate([3, 6, 9])]
    runners = [ModelRunner(model, EngineConfig(block_size=4, num_blocks=128)) for _ in range(2)]
    runners[1].block_decode, runners[1].fused = None, False
    outs = []
    for r in runners:
        runner_steps(r, prompts, 1)
        outs.append(r.run(ScheduledBatch(r.seqs, [1, 1, 1]), [True, False, True]))
    assert outs[0].shape[0] == 2
    assert_close(outs[0], outs[1], rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_int8_smollm2_engine_tokens_equal_the_module_loop():
    """The real model: greedy tokens of batched block-kernel decode steps == the modules one prompt at a time."""
    from aipath.llm import load_local_llm

    try:
        llm = load_local_llm("int8")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    questions = ["Name three planets of the solar system.", "What is 2 + 2?", "Write a haiku about the sea."]
    prompts = [llm.encode(llm.render([{"role": "user", "content": q}])) for q in questions]
    engine = LLMEngine(llm.model, config=EngineConfig(block_size=16, num_blocks=64))
    assert engine.runner.block_decode is not None
    out = engine.generate(prompts, SamplingParams(max_tokens=24))
    assert [o.token_ids for o in out] == [oracle(llm.model, p, 24) for p in prompts]
