"""The engine against the plain generate loop: paged, batched, chunked, preempted, cached == one by one."""

from __future__ import annotations

import pytest
import torch

from aipath.llm.generate import generate_tokens
from aipath.llm.sampling import SamplingParams as LoopParams
from aipath.serve.config import EngineConfig
from aipath.serve.engine import LLMEngine
from aipath.serve.sampling_params import SamplingParams
from serve_models import EOS, byte_llm, one_at_a_time, tiny_decoder

PROMPTS = [[(7 * i + 13 * j) % 256 for j in range(1 + 5 * i)] for i in range(10)]  # 1 … 46 tokens


def assert_all_blocks_free(engine: LLMEngine) -> None:
    bm = engine.block_manager
    assert all(b.ref_count == 0 for b in bm.blocks) and bm.num_free == len(bm.blocks)
    assert not engine.has_unfinished()


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_batch_with_chunked_prefill_equals_one_at_a_time(family):
    model = tiny_decoder(family)
    engine = LLMEngine(model, config=EngineConfig(block_size=4, num_blocks=256, max_num_batched_tokens=24))
    out = engine.generate(PROMPTS, SamplingParams(max_tokens=12))
    assert [o.token_ids for o in out] == [one_at_a_time(model, p, 12) for p in PROMPTS]
    assert all(o.finish_reason == "length" for o in out)
    assert_all_blocks_free(engine)


def test_requests_joining_a_running_batch_get_the_same_tokens(model):
    engine = LLMEngine(model, config=EngineConfig(block_size=4, num_blocks=256))
    first = engine.add_request(PROMPTS[5], SamplingParams(max_tokens=15))
    for _ in range(4):
        engine.step()
    late = engine.add_request(PROMPTS[8], SamplingParams(max_tokens=15))
    for _ in range(100):
        if not engine.step():
            break
    assert first.output_ids == one_at_a_time(model, PROMPTS[5], 15)
    assert late.output_ids == one_at_a_time(model, PROMPTS[8], 15)


def test_prefix_cache_hits_give_identical_outputs(model):
    engine = LLMEngine(model, config=EngineConfig(block_size=4, num_blocks=256))
    shared = PROMPTS[7]
    prompts = [shared + [i, i + 1] for i in range(4)]
    engine.generate(prompts[:1], SamplingParams(max_tokens=8))
    assert engine.block_manager.prefix_hits == 0
    out = engine.generate(prompts, SamplingParams(max_tokens=8))
    assert engine.block_manager.prefix_hits >= 4 * (len(shared) // 4 * 4)
    assert [o.token_ids for o in out] == [one_at_a_time(model, p, 8) for p in prompts]
    again = engine.generate([prompts[0]], SamplingParams(max_tokens=8))  # whole prompt cached but its last token
    assert again[0].token_ids == out[0].token_ids
    assert_all_blocks_free(engine)


def test_tiny_block_budget_forces_preemption_and_outputs_stay_identical(model):
    engine = LLMEngine(model, config=EngineConfig(block_size=4, num_blocks=24, enable_prefix_caching=False))
    prompts = PROMPTS[2:8]
    out = engine.generate(prompts, SamplingParams(max_tokens=20))
    assert engine.scheduler.num_preemptions > 0
    assert [o.token_ids for o in out] == [one_at_a_time(model, p, 20) for p in prompts]
    assert_all_blocks_free(engine)


def test_stop_rules(model):
    engine = LLMEngine.from_llm(byte_llm(model), EngineConfig(block_size=4))
    ref = one_at_a_time(model, PROMPTS[4], 20)
    stop_id = ref[5]
    out = engine.generate([PROMPTS[4]], SamplingParams(max_tokens=20, stop_token_ids=(stop_id,)))[0]
    assert out.token_ids == ref[: ref.index(stop_id) + 1] and out.finish_reason == "stop"
    full = engine.generate([PROMPTS[4]], SamplingParams(max_tokens=20))[0]
    cut = full.text[3:5]
    stopped = engine.generate([PROMPTS[4]], SamplingParams(max_tokens=20, stop=(cut,)))[0]
    assert stopped.text == full.text[: full.text.index(cut)] and stopped.finish_reason == "stop"
    eos_ref = one_at_a_time(model, PROMPTS[4], 20, frozenset({EOS}))
    assert engine.generate([PROMPTS[4]], SamplingParams(max_tokens=20))[0].token_ids == eos_ref


def test_repetition_penalty_matches_the_loop_and_logprobs_match_a_full_forward(model):
    engine = LLMEngine(model, config=EngineConfig(block_size=4))
    out = engine.generate(PROMPTS[3:6], SamplingParams(max_tokens=10, repetition_penalty=1.5))
    for p, o in zip(PROMPTS[3:6], out):
        assert o.token_ids == [s[0] for s in generate_tokens(model, [p], LoopParams(max_tokens=10, repetition_penalty=1.5))]
    seq = engine.add_request(PROMPTS[6], SamplingParams(max_tokens=6, logprobs=3))
    while engine.step():
        pass
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([seq.token_ids[:-1]]))[0].float(), -1)[len(PROMPTS[6]) - 1 :]
    for row, lp in zip(logp, seq.logprobs):
        assert lp.logprob == pytest.approx(float(row[lp.token_id]), abs=1e-4)
        assert [t for t, _ in lp.top] == row.topk(3).indices.tolist()


def test_presence_and_frequency_penalties_follow_openai_formula(model):
    from aipath.serve.sampler import penalised
    from aipath.serve.sequence import Sequence

    seq = Sequence([1, 2, 3], SamplingParams(presence_penalty=0.5, frequency_penalty=0.25))
    seq.token_ids += [9, 9, 4]
    logits = torch.zeros(16)
    expected = torch.zeros(16)
    expected[9], expected[4] = -0.5 - 0.5, -0.5 - 0.25
    assert torch.equal(penalised(logits, seq), expected)


def test_seeded_sampling_does_not_depend_on_the_batch(model):
    engine = LLMEngine(model, config=EngineConfig(block_size=4))
    params = SamplingParams(max_tokens=12, temperature=0.9, top_k=40, top_p=0.9, seed=3)
    alone = engine.generate([PROMPTS[5]], params)[0].token_ids
    together = engine.generate([PROMPTS[2], PROMPTS[5], PROMPTS[9]], [SamplingParams(max_tokens=12, temperature=1.0, seed=1), params, SamplingParams(max_tokens=5)])
    assert together[1].token_ids == alone
    assert engine.generate([PROMPTS[5]], SamplingParams(max_tokens=12, temperature=0.9, seed=4))[0].token_ids != alone


def test_unseeded_rows_sharing_their_rules_draw_together_each_from_its_own_logits(model):
    engine = LLMEngine(model, config=EngineConfig(block_size=4))
    top1 = SamplingParams(max_tokens=6, temperature=0.7, top_k=1)  # a draw, but only the best token survives top-k
    out = engine.generate(PROMPTS[3:7], [top1, SamplingParams(max_tokens=6), top1, top1])
    assert [o.token_ids for o in out] == [one_at_a_time(model, p, 6) for p in PROMPTS[3:7]]


def test_abort_frees_blocks_and_bad_requests_are_refused(model):
    engine = LLMEngine(model, config=EngineConfig(block_size=4, num_blocks=64))
    seq = engine.add_request(PROMPTS[9], SamplingParams(max_tokens=50))
    engine.step()
    assert engine.block_manager.num_free < 64
    engine.abort(seq)
    assert seq.finish_reason == "abort"
    assert_all_blocks_free(engine)
    with pytest.raises(ValueError, match="at most"):
        engine.new_sequence([1] * 300, SamplingParams())
    with pytest.raises(ValueError, match="token ids"):
        engine.new_sequence([1, 999], SamplingParams())
    with pytest.raises(ValueError, match="tokenizer"):
        engine.new_sequence("text", SamplingParams())


@pytest.mark.parametrize("dtype", ["bfloat16", "int8"])
def test_reduced_precision_weights_run_through_the_paged_cache(dtype):
    from aipath.llm.load import build_decoder

    base = tiny_decoder()
    model = build_decoder(base.cfg, {k: v for k, v in base.state_dict().items() if k != "lm_head.weight"}, dtype)
    engine = LLMEngine(model, config=EngineConfig(block_size=4, max_num_batched_tokens=24))
    out = engine.generate(PROMPTS[:4], SamplingParams(max_tokens=8))
    assert [o.token_ids for o in out] == [one_at_a_time(model, p, 8) for p in PROMPTS[:4]]


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
def test_asking_for_a_missing_device_fails_at_config_time() -> None:
    with pytest.raises(AssertionError, match="no CUDA GPU"):
        EngineConfig(device="cuda")
    assert EngineConfig(device="cpu").device == "cpu"
