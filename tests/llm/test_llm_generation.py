"""Sampling, streaming and the decoding loop, against ``transformers`` where it has an equivalent."""

import pytest
import torch
import transformers as tf
from torch.testing import assert_close
from transformers.generation.logits_process import (
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from aipath.llm.bpe import BPETokenizer
from aipath.llm.chat_template import render_chat
from aipath.llm.generate import generate_tokens
from aipath.llm.hf import config_from_hf, convert_hf_state_dict
from aipath.llm.load import build_decoder
from aipath.llm.local import LocalLLM
from aipath.llm.sampling import SamplingParams, repetition_penalty, top_k_filter, top_p_filter
from aipath.llm.streaming import TextStream, complete_prefix
from aipath.llm.tokenizer_io import LoadedTokenizer

g = torch.Generator().manual_seed(0)


def test_logit_processors_match_transformers():
    logits = torch.randn(3, 50, generator=g)
    history = torch.randint(0, 50, (3, 7), generator=g)
    assert_close(repetition_penalty(logits, history, 1.3), RepetitionPenaltyLogitsProcessor(1.3)(history, logits.clone()))
    assert_close(top_k_filter(logits, 5), TopKLogitsWarper(5)(history, logits.clone()))
    for p in (0.1, 0.5, 0.95):
        assert_close(top_p_filter(logits, p), TopPLogitsWarper(p)(history, logits.clone()))
    assert_close(logits / 0.7, TemperatureLogitsWarper(0.7)(history, logits.clone()))


def test_sampling_params_reject_nonsense():
    with pytest.raises(AssertionError):
        SamplingParams(top_p=0)
    with pytest.raises(AssertionError):
        SamplingParams(temperature=-1)


def test_stream_never_splits_a_multibyte_character():
    data = "a😀b你".encode()
    assert complete_prefix(data[:2]) == 1 and complete_prefix(data[:5]) == 5
    stream = TextStream()
    deltas = [stream.push(data[i : i + 1]) for i in range(len(data))]
    assert "".join(deltas) == "a😀b你"
    assert all("\ufffd" not in d for d in deltas) and deltas[1:4] == ["", "", ""]


def test_stream_holds_back_and_cuts_stop_strings():
    stream = TextStream(stop=("</s>", "STOP"))
    out = [stream.push(p.encode()) for p in ["Hello <", "/", "x> wor", "ld </", "s> more"]]
    assert out == ["Hello ", "", "</x> wor", "ld ", ""]
    assert stream.stopped and stream.text == "Hello </x> world " and stream.finish() == ""


def test_stream_finish_flushes_held_text():
    stream = TextStream(stop=("STOP",))
    assert stream.push(b"ab ST") == "ab " and stream.finish() == "ST"


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    cfg = tf.LlamaConfig(vocab_size=300, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128, tie_word_embeddings=True)
    hf = tf.LlamaForCausalLM(cfg).eval()
    ours_cfg = config_from_hf(cfg.to_dict())
    return hf, build_decoder(ours_cfg, convert_hf_state_dict(hf.state_dict(), ours_cfg))


def greedy(model, prompts, n=12, **kw):
    steps = list(generate_tokens(model, prompts, SamplingParams(max_tokens=n, **kw)))
    return [[s[i] for s in steps if s[i] is not None] for i in range(len(prompts))]


def test_greedy_generation_matches_transformers_generate(tiny):
    hf, ours = tiny
    prompt = [5, 17, 42, 7, 99]
    ref = hf.generate(torch.tensor([prompt]), max_new_tokens=12, do_sample=False, eos_token_id=None, pad_token_id=0)
    assert greedy(ours, [prompt])[0] == ref[0, len(prompt) :].tolist()


def test_repetition_penalty_generation_matches_transformers(tiny):
    hf, ours = tiny
    prompt = [5, 17, 42, 7, 99]
    ref = hf.generate(torch.tensor([prompt]), max_new_tokens=12, do_sample=False, repetition_penalty=1.5, eos_token_id=None, pad_token_id=0)
    assert greedy(ours, [prompt], repetition_penalty=1.5)[0] == ref[0, len(prompt) :].tolist()


def test_batch_of_two_equals_two_single_runs(tiny):
    _, ours = tiny
    a, b = [5, 17, 42, 7, 99, 3, 8], [250, 11]
    assert greedy(ours, [a, b]) == [greedy(ours, [a])[0], greedy(ours, [b])[0]]


def test_prompts_that_cannot_be_generated_from_are_clear_errors(tiny):
    _, ours = tiny
    with pytest.raises(ValueError, match="at least one token"):
        list(generate_tokens(ours, [[1], []], SamplingParams()))
    with pytest.raises(ValueError, match="context of 128"):
        list(generate_tokens(ours, [[1] * 128], SamplingParams()))
    assert list(generate_tokens(ours, [[1]], SamplingParams(max_tokens=0))) == []


def test_seeded_sampling_is_reproducible_and_stop_ids_end_a_row(tiny):
    _, ours = tiny
    params = dict(temperature=1.0, top_k=20, top_p=0.9, seed=7)
    first = greedy(ours, [[1, 2, 3]], n=20, **params)[0]
    assert first == greedy(ours, [[1, 2, 3]], n=20, **params)[0]
    steps = list(generate_tokens(ours, [[1, 2, 3]], SamplingParams(max_tokens=20, **params), stop_ids={first[3]}))
    assert len(steps) == first.index(first[3]) + 1


def test_chat_template_matches_transformers_apply_chat_template():
    template = (
        "{{ bos_token }}{% for m in messages %}{% if m['role'] not in ['system', 'user', 'assistant'] %}"
        "{{ raise_exception('bad role') }}{% endif %}\n  <|{{ m['role'] }}|>\n{{ m['content'] | trim }}{{ eos_token }}\n"
        "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}{{ {'k': 'é<'} | tojson }}"
    )
    from tokenizers import Tokenizer, models

    hf_tok = tf.PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE({"a": 0, "<s>": 1, "</s>": 2}, [])), bos_token="<s>", eos_token="</s>")
    messages = [{"role": "system", "content": " Be brief. "}, {"role": "user", "content": "Hi 你好"}]
    for gen in (True, False):
        ref = hf_tok.apply_chat_template(messages, chat_template=template, tokenize=False, add_generation_prompt=gen)
        assert render_chat(template, messages, gen, bos_token="<s>", eos_token="</s>") == ref
    with pytest.raises(Exception, match="bad role"):
        render_chat(template, [{"role": "tool", "content": "x"}], bos_token="", eos_token="")


def test_local_llm_streams_what_it_returns(tiny):
    _, model = tiny
    vocab = {i: bytes([i]) for i in range(256)} | {i: f"<{i}>".encode() for i in range(256, 299)}
    bpe = BPETokenizer(vocab, [], {"<eos>": 299})
    llm = LocalLLM(model, LoadedTokenizer(bpe, None, "<eos>", "{% for m in messages %}{{ m['content'] }}{% endfor %}"))
    deltas = list(llm.chat_stream([{"role": "user", "content": "hi"}], max_tokens=15))
    assert "".join(deltas) == llm.chat([{"role": "user", "content": "hi"}], max_tokens=15)
    full = llm.generate("abc", max_tokens=15)
    assert llm.generate_batch(["abc", "x"], max_tokens=15)[0] == full
    assert len(full) > 3
    cut = full[2:4]
    assert llm.generate("abc", max_tokens=15, stop=[cut]) == full[: full.index(cut)]


def test_until_looping_stops_a_looping_stream_and_its_source() -> None:
    from aipath.llm.streaming import looping_tail, until_looping

    produced: list[str] = []
    closed: list[bool] = []

    def source():
        try:
            yield "Answer: "
            while True:  # a greedy loop that never ends on its own
                produced.append("It is a type of latency (LAL). ")
                yield produced[-1]
        finally:
            closed.append(True)

    text = "".join(until_looping(source()))
    assert text == "Answer: " + "It is a type of latency (LAL). " * 2
    assert len(produced) == 2 and closed == [True]
    # a normal answer passes through whole
    normal = ["Use ", "`apt-mark hold pkg` ", "to keep a package. ", "See [1]."]
    assert "".join(until_looping(iter_gen(normal))) == "".join(normal)
    assert not looping_tail("- pip install a\n- pip install b\n")


def iter_gen(items: list[str]):
    yield from items


def greedy_rows() -> torch.Tensor:
    """Float32 rows (V = 1003: not a multiple of 8) with ties, signed zeros, infinities and a tail maximum."""
    logits = torch.randn(12, 1003, generator=g)
    logits[1, 5] = logits[1, 700] = 9.0  # a tie: the first index wins
    logits[2, 640] = logits[2, 641] = logits[2, 1001] = 9.0  # within one vector of 8, and in the tail
    logits[3, 1000] = 50.0  # the maximum in the tail (past the last full vector)
    logits[4] = 0.0  # all equal
    logits[5] = float("-inf")  # all -inf
    logits[6] = -1.0
    logits[6, 9], logits[6, 3] = 0.0, -0.0  # -0.0 == 0.0: the first of them
    logits[7, 500] = logits[7, 20] = float("inf")
    logits[8] = -3.0
    logits[8, 1002] = -2.0  # the very last value
    logits[9, 0] = 100.0  # the very first value
    return logits


@pytest.mark.parametrize("threads", [1, 2])
def test_greedy_pick_is_torch_argmax_with_its_tie_breaking(threads, monkeypatch):
    from aipath.llm import row_ops_kernel, sampling

    torch.set_num_threads(threads)  # the suite's fixture restores one thread afterwards
    logits = greedy_rows()
    want = logits.argmax(-1)
    assert want[1] == 5 and want[2] == 640 and want[4] == 0 and want[5] == 0 and want[6] == 3 and want[7] == 20
    calls = []
    monkeypatch.setattr(sampling, "argmax_rows", lambda x: calls.append(1) or row_ops_kernel.argmax_rows(x))
    greedy = SamplingParams(temperature=0)
    assert torch.equal(sampling.next_tokens(logits, greedy, None, None), want) and calls == [1]
    assert torch.equal(row_ops_kernel.argmax_rows(logits), want) and row_ops_kernel.argmax(logits) == want.tolist()
    assert [row_ops_kernel.argmax_rows(row[None]).item() for row in logits] == want.tolist()
    view = torch.cat([logits, logits], 1)[:, 3 : 3 + 1003]  # rows at a stride, not at 8-float boundaries
    assert torch.equal(row_ops_kernel.argmax_rows(view), view.argmax(-1))
    assert torch.equal(row_ops_kernel.argmax_rows(logits[:, ::2]), logits[:, ::2].argmax(-1))  # strided columns: torch
    assert torch.equal(row_ops_kernel.argmax_rows(logits.double()), want)  # other dtypes: torch
    history = torch.randint(0, 1003, (12, 4), generator=g)
    with_penalty = SamplingParams(temperature=0, repetition_penalty=1.3)
    assert torch.equal(sampling.next_tokens(logits, with_penalty, history, None), repetition_penalty(logits, history, 1.3).argmax(-1))
    logits[10, 17] = float("nan")  # torch ranks NaN highest; the kernel hands such rows to torch
    assert torch.equal(sampling.next_tokens(logits, greedy, None, None), logits.argmax(-1))
    assert row_ops_kernel.argmax_rows(logits)[10] == 17
    assert row_ops_kernel.argmax_rows(torch.empty(0, 5)).shape == (0,)
