"""Our GGUF dequantisers against ``gguf.quants.dequantize`` (llama.cpp's own Python reference)."""

import numpy as np
import pytest
from gguf import GGMLQuantizationType as T
from gguf import quants

from aipath.llm.gguf_quants import BLOCK_FORMATS, dequantize

# byte offsets of the float16 scale fields in each block, overwritten with sane values
F16_FIELDS = {T.Q8_0: [0], T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q4_K: [0, 2], T.Q6_K: [208]}


def random_blocks(qtype: T, n_blocks: int, rng: np.random.Generator) -> np.ndarray:
    """Random block bytes (every bit pattern of the integer fields), finite float16 scales."""
    _, nbytes, _ = BLOCK_FORMATS[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, nbytes), dtype=np.uint8)
    for off in F16_FIELDS[qtype]:
        raw[:, off : off + 2] = rng.normal(0, 0.05, size=(n_blocks, 1)).astype(np.float16).view(np.uint8)
    return raw


@pytest.mark.parametrize("qtype", list(BLOCK_FORMATS), ids=lambda t: t.name)
def test_block_formats_match_gguf_reference(qtype):
    rng = np.random.default_rng(int(qtype))
    block, nbytes, _ = BLOCK_FORMATS[qtype]
    raw = random_blocks(qtype, 24, rng).reshape(4, 6 * nbytes)  # 4 rows of 6 blocks
    ours = dequantize(raw, qtype, (4, 6 * block))
    ref = quants.dequantize(raw, qtype)
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("qtype", [T.F32, T.F16, T.BF16], ids=lambda t: t.name)
def test_plain_formats_match_gguf_reference(qtype):
    x = np.random.default_rng(0).normal(size=(3, 64)).astype(np.float32)
    raw = quants.quantize(x, qtype)
    np.testing.assert_array_equal(dequantize(raw, qtype, (3, 64)), quants.dequantize(raw, qtype))


def test_quantize_then_dequantize_roundtrip_q8_0():
    x = np.random.default_rng(1).normal(size=(2, 64)).astype(np.float32)
    raw = quants.quantize(x, T.Q8_0)
    np.testing.assert_array_equal(dequantize(raw, T.Q8_0, (2, 64)), quants.dequantize(raw, T.Q8_0))
    np.testing.assert_allclose(dequantize(raw, T.Q8_0, (2, 64)), x, atol=0.02)


def test_unsupported_type_raises():
    with pytest.raises(NotImplementedError, match="IQ2_XXS"):
        dequantize(np.zeros(66, np.uint8), T.IQ2_XXS, (1, 256))
