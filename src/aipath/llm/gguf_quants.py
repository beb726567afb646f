"""Dequantisation of GGUF tensors, written out from ggml's block layouts (NumPy, vectorised).

ggml stores quantised weights in fixed-size *blocks*; each block holds a few float16
scales and a run of small integers. A row of ``n`` weights is ``n / block_size`` blocks
back to back. The formats here (bytes per block / weights per block):

- ``Q8_0`` (34/32): ``d: f16, q: int8[32]`` -> ``x = d * q``
- ``Q4_0`` (18/32): ``d: f16, nibbles[16]``; low nibbles are weights 0..15, high nibbles
  16..31 -> ``x = d * (q - 8)``
- ``Q4_1`` (20/32): ``d, m: f16, nibbles[16]`` -> ``x = d * q + m``
- ``Q5_0`` (22/32): ``d: f16, qh: u32, nibbles[16]``; bit ``j`` of ``qh`` is the 5th bit of
  weight ``j`` -> ``x = d * (q - 16)``
- ``Q4_K`` (144/256): ``d, dmin: f16, scales: u8[12], nibbles[128]``; 8 sub-blocks of 32,
  each with a 6-bit scale and a 6-bit min packed into the 12 bytes -> ``x = d*sc*q - dmin*m``
- ``Q6_K`` (210/256): ``ql: u8[128], qh: u8[64], scales: i8[16], d: f16``; 16 sub-blocks of
  16 with 6-bit weights (4 low bits in ``ql``, 2 high bits in ``qh``) -> ``x = d*sc*(q - 32)``

Each function takes the raw bytes as ``uint8`` of shape ``(n_blocks, bytes_per_block)``
and returns ``float32`` of shape ``(n_blocks, block_size)``.
"""

from __future__ import annotations

import numpy as np
from gguf import GGMLQuantizationType as T


def _f16(blocks: np.ndarray, start: int) -> np.ndarray:
    """The float16 at byte ``start`` of every block, as a float32 column."""
    return blocks[:, start : start + 2].copy().view(np.float16).astype(np.float32)


def _nibbles(qs: np.ndarray) -> np.ndarray:
    """ggml's 4-bit order: all low nibbles first, then all high nibbles."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=-1)


def q8_0(b: np.ndarray) -> np.ndarray:
    return _f16(b, 0) * b[:, 2:].view(np.int8).astype(np.float32)


def q4_0(b: np.ndarray) -> np.ndarray:
    return _f16(b, 0) * (_nibbles(b[:, 2:]).astype(np.float32) - 8)


def q4_1(b: np.ndarray) -> np.ndarray:
    return _f16(b, 0) * _nibbles(b[:, 4:]).astype(np.float32) + _f16(b, 2)


def q5_0(b: np.ndarray) -> np.ndarray:
    qh = b[:, 2:6].copy().view(np.uint32)  # (n, 1)
    high = (qh >> np.arange(32, dtype=np.uint32)) & 1  # 5th bit of weight j is bit j
    q = _nibbles(b[:, 6:]) | (high.astype(np.uint8) << 4)
    return _f16(b, 0) * (q.astype(np.float32) - 16)


def _k_scales(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unpack Q4_K's 12 bytes into 8 six-bit scales and 8 six-bit mins (ggml's get_scale_min_k4)."""
    sc = np.concatenate([s[:, 0:4] & 63, (s[:, 8:12] & 0x0F) | ((s[:, 0:4] >> 6) << 4)], axis=-1)
    mn = np.concatenate([s[:, 4:8] & 63, (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)], axis=-1)
    return sc.astype(np.float32), mn.astype(np.float32)


def q4_k(b: np.ndarray) -> np.ndarray:
    n = len(b)
    sc, mn = _k_scales(b[:, 4:16])
    # 4 chunks of 32 bytes; each chunk's low nibbles are sub-block 2i, high nibbles 2i+1.
    q = _nibbles(b[:, 16:].reshape(n, 4, 32)).reshape(n, 8, 32).astype(np.float32)
    d, dmin = _f16(b, 0)[:, :, None], _f16(b, 2)[:, :, None]
    return (d * sc[:, :, None] * q - dmin * mn[:, :, None]).reshape(n, 256)


def q6_k(b: np.ndarray) -> np.ndarray:
    n = len(b)
    ql = b[:, :128].reshape(n, 2, 64)  # two halves of 128 weights
    qh = b[:, 128:192].reshape(n, 2, 1, 32)
    scales = b[:, 192:208].view(np.int8).astype(np.float32).reshape(n, 16, 1)
    low = np.concatenate([ql & 0x0F, ql >> 4], axis=-1).reshape(n, 2, 4, 32)  # quarters of each half
    high = (qh >> np.array([0, 2, 4, 6], dtype=np.uint8)[:, None]) & 3
    q = (low | (high << 4)).astype(np.float32) - 32
    return (_f16(b, 208)[:, :, None] * scales * q.reshape(n, 16, 16)).reshape(n, 256)


# type -> (weights per block, bytes per block, function)
BLOCK_FORMATS = {
    T.Q8_0: (32, 34, q8_0),
    T.Q4_0: (32, 18, q4_0),
    T.Q4_1: (32, 20, q4_1),
    T.Q5_0: (32, 22, q5_0),
    T.Q4_K: (256, 144, q4_k),
    T.Q6_K: (256, 210, q6_k),
}
PLAIN = {T.F32: np.float32, T.F16: np.float16}


def dequantize(raw: np.ndarray, qtype: T, shape: tuple[int, ...]) -> np.ndarray:
    """float32 array of ``shape`` (NumPy order, rows last-dim contiguous) from a tensor's raw bytes."""
    raw = np.ascontiguousarray(raw).reshape(-1).view(np.uint8)
    if qtype in PLAIN:
        return raw.view(PLAIN[qtype]).astype(np.float32).reshape(shape)
    if qtype == T.BF16:  # bfloat16 is the top half of a float32
        return (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32).reshape(shape)
    if qtype not in BLOCK_FORMATS:
        raise NotImplementedError(f"GGUF tensor type {qtype.name} is not supported")
    _, nbytes, fn = BLOCK_FORMATS[qtype]
    return fn(raw.reshape(-1, nbytes)).reshape(shape)
