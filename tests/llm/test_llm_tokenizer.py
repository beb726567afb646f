"""Our byte-level BPE against the ``tokenizers`` library (Rust), token for token."""

import json

import pytest
from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

from aipath.llm.bpe import BPETokenizer, pretokenize
from aipath.llm.tokenizer_io import byte_decoder, from_gguf_meta, from_tokenizer_json

TEXT = (
    "Hello world! It's 2024-11-29, and we've paid $1,234.56 for 3 coffees.\n"
    "你好，世界！这是一个测试。日本語もあります。\n"
    "def f(x):\n    return x ** 2  # square\n\n\n\tindented\ttabs   and    spaces   \n"
    "Emoji: 😀👍🏽🇨🇳 and combined é vs é.\n"
    "<|im_start|>user\nHi<|im_end|>\n   trailing   "
)


def oracle_from_meta(meta: dict) -> Tokenizer:
    """SmolLM2's tokenizer rebuilt in ``tokenizers``: its tokenizer.json uses Digits + ByteLevel."""
    tokens, types = meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.token_type"]
    merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
    tok = Tokenizer(models.BPE({t: i for i, t in enumerate(tokens)}, merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    )
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, types) if k == 3])
    return tok


def test_worked_example_from_the_docstring():
    tok = BPETokenizer.train("aaabdaaabac", 259, patterns=[])
    assert [tok.vocab[i] for i in (256, 257, 258)] == [b"aa", b"aaa", b"aaab"]
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99]
    assert tok.decode([258, 100, 258, 97, 99]) == "aaabdaaabac"


def test_gpt2_pretokenizer_matches_tokenizers():
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    to_unicode = {b: c for c, b in byte_decoder().items()}
    ref = [piece for piece, _ in byte_level.pre_tokenize_str(TEXT)]
    ours = ["".join(to_unicode[b] for b in p.encode()) for p in pretokenize(TEXT, [r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""])]
    assert ours == ref


@pytest.mark.parametrize("text", [TEXT, "", " ", "12345", "a\n\n\nb", "<|im_end|><|im_end|>x"])
def test_smollm2_gguf_tokenizer_matches_tokenizers(smol_meta, text):
    ours = from_gguf_meta(smol_meta)
    ref = oracle_from_meta(smol_meta)
    ids = ours.encode(text)
    assert ids == ref.encode(text).ids
    assert ours.tokenizer.decode(ids) == text


def test_special_tokens_can_be_treated_as_text(smol_meta):
    tok = from_gguf_meta(smol_meta)
    assert tok.encode("<|im_start|>") == [1]
    assert 1 not in tok.encode("<|im_start|>", allow_special=False)
    assert (tok.bos_token, tok.eos_token) == ("<|im_start|>", "<|im_end|>")


def test_tokenizer_json_loader_matches_tokenizers(smol_meta, tmp_path):
    oracle = oracle_from_meta(smol_meta)
    oracle.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<|im_end|>", "chat_template": "{{ x }}"}))
    ours = from_tokenizer_json(tmp_path)
    assert ours.encode(TEXT) == oracle.encode(TEXT).ids
    assert ours.eos_token == "<|im_end|>" and ours.chat_template == "{{ x }}"


def test_trained_tokenizer_encodes_like_tokenizers_with_the_same_merges():
    corpus = (TEXT * 3) + "the quick brown fox jumps over the lazy dog " * 20
    ours = BPETokenizer.train(corpus, 256 + 60, special=["<|end|>"])
    to_unicode = {b: c for c, b in byte_decoder().items()}
    show = lambda bs: "".join(to_unicode[b] for b in bs)  # noqa: E731
    ref = Tokenizer(models.BPE({show(b): i for i, b in ours.vocab.items()}, [(show(a), show(b)) for a, b in ours.ranks]))
    ref.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    ref.add_special_tokens([AddedToken("<|end|>", special=True, normalized=False)])
    sample = "the lazy fox 你好 <|end|> jumps 😀!"
    assert ours.encode(sample) == ref.encode(sample).ids
    assert ours.decode(ours.encode(sample)) == sample
    assert len(ours.encode(corpus)) < len(corpus.encode()) // 2  # the merges actually compress
