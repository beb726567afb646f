"""End to end on the real SmolLM2-135M-Instruct GGUF, against ``transformers`` loading the same file."""

import pytest
import torch

from aipath.llm import load_local_llm
from aipath.llm.generate import generate_tokens
from aipath.llm.sampling import SamplingParams

pytestmark = pytest.mark.slow
MESSAGES = [{"role": "user", "content": "Name three colours of the rainbow, 1-2-3."}]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("aipath-home")


@pytest.fixture(scope="module")
def ours(smol_path, home):
    load_local_llm(path=smol_path, home=home)  # cold: dequantise and fill the cache
    return load_local_llm(path=smol_path, home=home)  # warm: read from the cache


@pytest.fixture(scope="module")
def hf(smol_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smol_path.parent, gguf_file=smol_path.name)
    model = AutoModelForCausalLM.from_pretrained(smol_path.parent, gguf_file=smol_path.name, dtype=torch.float32)
    return tok, model.eval()


def test_chat_template_and_prompt_tokens_match_transformers(ours, hf):
    tok, _ = hf
    prompt = ours.render(MESSAGES)
    assert prompt == tok.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)
    # transformers' GGUF tokenizer drops SmolLM2's digit splitting, so compare a digit-free prompt
    text = prompt.replace("1-2-3", "one two three")
    assert ours.encode(text) == tok(text, add_special_tokens=False).input_ids


def test_logits_match_transformers(ours, hf):
    _, model = hf
    ids = torch.tensor([ours.encode(ours.render(MESSAGES))])
    with torch.inference_mode():
        got, ref = ours.model(ids), model(ids).logits
    diff = (got - ref).abs().max().item()
    print(f"SmolLM2 GGUF logits, ours vs transformers: max abs diff {diff:.2e} over {ids.shape[1]} positions")
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-3)


def test_greedy_32_tokens_identical_to_transformers(ours, hf):
    _, model = hf
    prompt = ours.encode(ours.render(MESSAGES))
    ids = torch.tensor([prompt])  # explicit mask: the prompt contains the pad id <|im_end|>
    ref = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=32, do_sample=False, eos_token_id=None)
    mine = [s[0] for s in generate_tokens(ours.model, [prompt], SamplingParams(max_tokens=32))]
    assert mine == ref[0, len(prompt) :].tolist()


def test_chat_api_answers_and_streams(ours):
    deltas = list(ours.chat_stream([{"role": "user", "content": "What is the capital of France?"}], max_tokens=24))
    assert "Paris" in "".join(deltas)
    assert "".join(deltas) == ours.chat([{"role": "user", "content": "What is the capital of France?"}], max_tokens=24)


@pytest.mark.parametrize("dtype", ["bfloat16", "int8"])
def test_low_precision_weights_agree_with_float32(ours, smol_path, home, dtype):
    low = load_local_llm(dtype, path=smol_path, home=home)
    ids = torch.tensor([ours.encode(ours.render(MESSAGES))])
    with torch.inference_mode():
        agree = (low.model(ids).argmax(-1) == ours.model(ids).argmax(-1)).float().mean().item()
    assert agree >= 0.8, f"{dtype} top-1 agreement with float32 only {agree:.0%}"


def test_int8_kernel_generates_what_dequantising_generates(smol_path, home, monkeypatch):
    from aipath.llm import int8

    if int8.load_kernel() is None:
        pytest.skip("int8 kernel not built here (no g++ or no AVX2)")
    low = load_local_llm("int8", path=smol_path, home=home)
    prompt = low.encode(low.render(MESSAGES))

    def run() -> tuple[torch.Tensor, list[int]]:
        with torch.inference_mode():
            logits = low.model(torch.tensor([prompt]))
        return logits, [s[0] for s in generate_tokens(low.model, [prompt], SamplingParams(max_tokens=16))]

    fast_logits, fast = run()
    monkeypatch.setattr(int8, "load_kernel", lambda: None)
    monkeypatch.setattr(low.model, "fused_decode", False)
    slow_logits, slow = run()
    torch.testing.assert_close(fast_logits, slow_logits, rtol=1e-4, atol=1e-3)
    assert fast == slow


def test_fused_decode_generates_what_the_modules_generate(smol_path, home, monkeypatch):
    """Two prompts of different lengths (left padding), two threads: the C++ block == the modules."""
    from aipath.llm import fused_decode

    if fused_decode.load_kernel() is None:
        pytest.skip("decode kernel not built here (no g++ or no AVX2)")
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    low = load_local_llm("int8", path=smol_path, home=home)
    prompts = [low.encode(low.render(MESSAGES)), low.encode("The capital of France is")]
    params = SamplingParams(max_tokens=32)
    fast = list(generate_tokens(low.model, prompts, params))
    assert low.model._plan is not None
    low.model.fused_decode = False
    assert list(generate_tokens(low.model, prompts, params)) == fast
