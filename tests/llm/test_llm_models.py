"""Whole models against ``transformers`` built from tiny random configs (nothing downloaded)."""

import pytest
import torch
import transformers as tf
from torch.testing import assert_close

from aipath.llm.config import ModelConfig
from aipath.llm.encoder import Encoder
from aipath.llm.hf import config_from_hf, convert_hf_state_dict
from aipath.llm.load import build_decoder, load_hf_folder

TINY = dict(vocab_size=97, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4)


def hf_decoder(kind: str) -> tf.PreTrainedModel:
    torch.manual_seed(0)
    if kind == "gpt2":
        cfg = tf.GPT2Config(vocab_size=97, n_embd=64, n_layer=2, n_head=4, n_positions=64)
        return tf.GPT2LMHeadModel(cfg).eval()
    common = dict(TINY, num_key_value_heads=2, max_position_embeddings=64, rope_theta=500.0)
    cfg = {
        "llama": lambda: tf.LlamaConfig(**common, tie_word_embeddings=False),
        "llama_tied": lambda: tf.LlamaConfig(**common, tie_word_embeddings=True),
        "qwen2": lambda: tf.Qwen2Config(**common),
        "qwen3": lambda: tf.Qwen3Config(**common, head_dim=16),
    }[kind]()
    model = tf.AutoModelForCausalLM.from_config(cfg).eval()
    with torch.no_grad():  # random biases / norm weights, so a mapping mistake cannot hide
        for name, p in model.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.add_(torch.randn_like(p) * 0.1)
    return model


def ours_from(hf: tf.PreTrainedModel, dtype: str = "float32"):
    cfg = config_from_hf(hf.config.to_dict())
    return build_decoder(cfg, convert_hf_state_dict(hf.state_dict(), cfg), dtype)


@pytest.mark.parametrize("kind", ["gpt2", "llama", "llama_tied", "qwen2", "qwen3"])
def test_decoder_logits_match_transformers(kind):
    hf = hf_decoder(kind)
    ours = ours_from(hf)
    tokens = torch.randint(0, 97, (2, 11), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert_close(ours(tokens), hf(tokens).logits, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("impl", ["flash", "torch"])
def test_attention_implementations_give_the_same_model(impl):
    hf = hf_decoder("llama")
    cfg = config_from_hf(hf.config.to_dict())
    sd = convert_hf_state_dict(hf.state_dict(), cfg)
    tokens = torch.randint(0, 97, (1, 40))
    naive, other = build_decoder(cfg, dict(sd)), build_decoder(cfg.with_(attn_impl=impl), sd)
    assert_close(other(tokens), naive(tokens), rtol=1e-4, atol=1e-4)


def test_left_padded_batch_matches_transformers():
    hf = hf_decoder("llama")
    ours = ours_from(hf)
    tokens = torch.randint(3, 97, (2, 9))
    valid = torch.ones(2, 9, dtype=torch.bool)
    valid[1, :4] = False  # row 1 is left-padded by 4
    pos = (valid.long().cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        ref = hf(tokens, attention_mask=valid.long(), position_ids=pos).logits
        got = ours(tokens, key_valid=valid)
    assert_close(got[valid], ref[valid], rtol=1e-4, atol=1e-4)


def test_bfloat16_weights_match_transformers_in_bfloat16():
    hf = hf_decoder("llama")
    ours = ours_from(hf, "bfloat16")
    tokens = torch.randint(0, 97, (1, 8))
    with torch.no_grad():
        ref = hf.to(torch.bfloat16)(tokens).logits
        assert_close(ours(tokens), ref, rtol=2e-2, atol=2e-2)


def test_int8_weights_stay_close_to_float32():
    hf = hf_decoder("llama_tied")
    tokens = torch.randint(0, 97, (1, 8))
    with torch.no_grad():
        full, q = ours_from(hf)(tokens), ours_from(hf, "int8")(tokens)
    assert (q - full).abs().max() < 0.05 * full.abs().max()
    assert (q.argmax(-1) == full.argmax(-1)).float().mean() >= 0.75


def test_hf_folder_loader_reads_saved_checkpoint(tmp_path):
    hf = hf_decoder("qwen2")
    hf.save_pretrained(tmp_path, safe_serialization=True)
    ours = load_hf_folder(tmp_path)
    tokens = torch.randint(0, 97, (1, 7))
    with torch.no_grad():
        assert_close(ours(tokens), hf(tokens).logits, rtol=1e-4, atol=1e-4)


def test_bert_encoder_matches_transformers():
    torch.manual_seed(0)
    hf = tf.BertModel(tf.BertConfig(**TINY, max_position_embeddings=32, type_vocab_size=2), add_pooling_layer=False).eval()
    cfg = config_from_hf(hf.config.to_dict())
    enc = Encoder(cfg)
    enc.load_state_dict(convert_hf_state_dict(hf.state_dict(), cfg))
    tokens = torch.randint(0, 97, (2, 10))
    valid = torch.ones(2, 10, dtype=torch.bool)
    valid[1, 7:] = False  # right padding, as BERT tokenizers pad
    segments = torch.zeros_like(tokens)
    segments[:, 5:] = 1
    with torch.no_grad():
        ref = hf(tokens, attention_mask=valid.long(), token_type_ids=segments).last_hidden_state
        got = enc(tokens, key_valid=valid, segments=segments)
    assert_close(got[valid], ref[valid], rtol=1e-4, atol=1e-4)


def test_config_rejects_inconsistent_shapes():
    with pytest.raises(AssertionError, match="GQA"):
        ModelConfig.llama(vocab_size=10, dim=64, n_layers=1, n_heads=4, n_kv_heads=3, hidden_dim=8)
