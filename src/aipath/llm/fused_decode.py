"""Decoding with one C++ call per decoder block (``fused_decode_kernel``) for int8 Llama-family models.

``Decoder.forward`` takes this path when a step feeds one new token per row into a float32
``KVCache`` and the model fits the kernel: RMSNorm, rope, SwiGLU, no q/k norm, and int8
weights with q/k/v and gate/up fused (``fuse.py``). Everything else (prefill, float32 or
bfloat16 weights, GPT-2, Qwen's q/k norm, no compiler) runs the PyTorch modules, which
stay the reference the tests compare this path with. The serving engine runs its decode
steps through the same plan over its paged pool (``run_paged``).

A ``FusedDecode`` holds, per block, a ctypes struct with the pointers of that block's
weights, built once; before each step it checks that the model still holds those tensors
(the same tensor objects, compared by identity), so a model whose layers or weights were
replaced or moved rebuilds it instead of reading freed memory.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache

import torch
from torch import nn

from aipath.llm import int8_kernel
from aipath.llm.int8 import Int8Linear
from aipath.llm.int8_kernel import Q8Weights
from aipath.llm.kv_cache import KVCache
from aipath.llm.mlp import SwiGLU
from aipath.llm.norms import RMSNorm


class _Dims(ctypes.Structure):
    _fields_ = [("dim", ctypes.c_long), ("hidden", ctypes.c_long), ("heads", ctypes.c_long), ("kv_heads", ctypes.c_long), ("head_dim", ctypes.c_long), ("eps", ctypes.c_float)]


class _Layer(ctypes.Structure):
    _fields_ = [("attn_norm", ctypes.c_void_p), ("mlp_norm", ctypes.c_void_p), ("qkv", Q8Weights), ("o", Q8Weights), ("gate_up", Q8Weights), ("down", Q8Weights)]


class BlockTables(ctypes.Structure):
    """``dec::Cache``: where each row's keys live (``attention_kernel``'s block-table layout).

    ``tables`` (B, max_blocks) and ``lens`` (B,) are int64 tensors the caller keeps alive
    during the step; ``lens`` counts the keys after this step (the new one included)."""

    _fields_ = [("tables", ctypes.c_void_p), ("max_blocks", ctypes.c_long), ("lens", ctypes.c_void_p), ("block_size", ctypes.c_long),
                ("valid", ctypes.c_void_p), ("valid_stride", ctypes.c_long)]

    @classmethod
    def of(cls, tables: torch.Tensor, lens: torch.Tensor, block_size: int, valid: torch.Tensor | None = None) -> "BlockTables":
        assert tables.dtype == lens.dtype == torch.int64 and tables.is_contiguous() and lens.is_contiguous()
        valid_ptr, stride = (None, 0) if valid is None else (valid.data_ptr(), valid.shape[1])
        return cls(tables.data_ptr(), tables.shape[1], lens.data_ptr(), block_size, valid_ptr, stride)


@lru_cache(maxsize=1)
def load_kernel() -> ctypes.CDLL | None:
    """The int8 kernel library (it holds the block kernel too), or None where it cannot run here."""
    lib = int8_kernel.load_kernel()
    if lib is not None:
        p, i = ctypes.c_void_p, ctypes.c_long
        lib.q8_decode_layer.argtypes = [p, p, p, i, p, p, p, p, p, ctypes.c_int]
        lib.q8_decode_layer.restype = None
    return lib


def _tensors(model: nn.Module) -> list[torch.Tensor]:
    """Every tensor a plan points into, in a fixed order (its identity check, run every step).

    Read straight from the modules' ``_modules``/``_parameters``/``_buffers`` dicts: through
    ``nn.Module.__getattr__`` the same walk cost 1.7 ms, a tenth of a decode step.
    """
    out = [model._modules["norm"]._parameters["weight"]]  # the final norm's (run in C++ after the blocks)
    for layer in model._modules["layers"]._modules.values():
        blocks = layer._modules
        attn, mlp = blocks["attn"]._modules, blocks["mlp"]._modules
        out += [blocks["attn_norm"]._parameters["weight"], blocks["mlp_norm"]._parameters["weight"]]
        for lin in (attn["qkv"], attn["o"], mlp["gate_up"], mlp["down"]):
            out += [lin._buffers["panels"], lin._buffers["scale"], lin._parameters.get("bias")]
    return out


def supports(model: nn.Module) -> bool:
    """Whether every block of ``model`` (and its final norm, an RMSNorm in C++) has the shape the kernel computes."""
    cfg = model.cfg
    if cfg.positions != "rope" or cfg.qk_norm or cfg.dim % 8 or cfg.head_size % 8 or cfg.n_heads % cfg.kv_heads:
        return False
    if not (isinstance(model.norm, RMSNorm) and model.norm.weight.dtype == torch.float32):  # the final norm
        return False
    for layer in model.layers:
        attn, mlp = layer.attn, layer.mlp
        if not (isinstance(layer.attn_norm, RMSNorm) and isinstance(layer.mlp_norm, RMSNorm) and isinstance(mlp, SwiGLU)):
            return False
        if not all(isinstance(lin, Int8Linear) for lin in (attn.qkv, attn.o, mlp.gate_up, mlp.down)):
            return False
        if layer.attn_norm.weight.dtype != torch.float32 or layer.mlp_norm.weight.dtype != torch.float32:
            return False
    return load_kernel() is not None


class FusedDecode:
    """The per-block pointer structs of one model, and the decode step that uses them."""

    def __init__(self, model: nn.Module) -> None:
        cfg = model.cfg
        self.tensors = _tensors(model)  # kept alive as long as the structs point into them
        self.dims = _Dims(cfg.dim, cfg.hidden_dim, cfg.n_heads, cfg.kv_heads, cfg.head_size, cfg.norm_eps)
        self.layers = [
            _Layer(l.attn_norm.weight.data_ptr(), l.mlp_norm.weight.data_ptr(), Q8Weights.of(l.attn.qkv), Q8Weights.of(l.attn.o), Q8Weights.of(l.mlp.gate_up), Q8Weights.of(l.mlp.down))
            for l in model.layers
        ]  # fmt: skip

    def matches(self, model: nn.Module) -> bool:
        """Whether the model still holds exactly the tensors this plan points into."""
        try:
            tensors = _tensors(model)
        except (KeyError, AttributeError):  # a layer is no longer int8 / fused
            return False
        return len(tensors) == len(self.tensors) and all(t is mine for t, mine in zip(tensors, self.tensors))

    def run(self, x: torch.Tensor, positions: torch.Tensor, rope: nn.Module, cache: KVCache, key_valid: torch.Tensor | None) -> None:
        """Every block on ``x`` (B, dim), in place; the new keys/values go to ``cache.length``.

        The contiguous cache is read as a block pool: row b owns block b of ``max_len`` slots."""
        b, pos = x.shape[0], cache.length
        if pos + 1 > cache.max_len:
            raise ValueError(f"KV cache full: {pos + 1} positions > max_len {cache.max_len}")
        tables, lens = torch.arange(b)[:, None], torch.full((b,), pos + 1)
        valid = None if key_valid is None else key_valid.contiguous()  # bool: one byte, 0 or 1
        self.run_paged(x, positions, rope, cache.k, cache.v, BlockTables.of(tables, lens, cache.max_len, valid))

    def run_paged(self, x: torch.Tensor, positions: torch.Tensor, rope: nn.Module, k_pools: torch.Tensor, v_pools: torch.Tensor,
                  tables: BlockTables) -> None:
        """Every block on ``x`` (B, dim), in place, over the serving engine's paged pools
        (layers, blocks, kv_heads, block_size, head_dim); row b's new key/value go to position lens[b] - 1."""
        assert k_pools.is_contiguous() and v_pools.is_contiguous() and k_pools.dtype == torch.float32
        lib = load_kernel()
        b = x.shape[0]
        assert positions.shape == (b,) and x.is_contiguous() and x.dtype == torch.float32
        cos, sin = rope.cos[positions], rope.sin[positions]  # (B, head_dim), fresh and contiguous
        args = (x.data_ptr(), b, cos.data_ptr(), sin.data_ptr())
        threads, dims, where = torch.get_num_threads(), ctypes.byref(self.dims), ctypes.byref(tables)
        step = k_pools.stride(0) * k_pools.element_size()  # one layer's pool
        k0, v0 = k_pools.data_ptr(), v_pools.data_ptr()
        for i, layer in enumerate(self.layers):
            lib.q8_decode_layer(ctypes.byref(layer), dims, *args, k0 + i * step, v0 + i * step, where, threads)


def usable_cache(cache: KVCache | None, batch: int) -> bool:
    """A float32, contiguous cache for ``batch`` rows (what the kernel writes into)."""
    return cache is not None and cache.k.dtype == torch.float32 and cache.k.is_contiguous() and cache.v.is_contiguous() and cache.k.shape[1] == batch
