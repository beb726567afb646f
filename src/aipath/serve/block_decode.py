"""Serving steps that only decode, on int8 weights: one C++ call per decoder block.

The common step of a busy server is every running sequence decoding one token. For an int8
Llama-family model that step runs ``aipath.llm.fused_decode``'s block kernel (RMSNorm, q/k/v,
rope, the K/V write, attention, o-proj, add + RMSNorm, gate/up, SiLU, down in one call),
the same code the LLM's own decode loop runs, here over the paged pool: each sequence's
block table and key count come from the step's decode group (``ModelRunner.layout``).
Compared with ``fused_step`` (three C++ calls, four int8 matmul calls and attention per
block), it saves the Python and ctypes round trips between them and the threads' hand-offs.

Anything else (a prefill chunk in the step, float32 or bfloat16 weights, no compiler) runs
``fused_step`` or the module path, which the tests compare this one with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from aipath.llm import fused_decode
from aipath.llm.decoder import Decoder
from aipath.llm.fused_decode import BlockTables, FusedDecode
from aipath.serve import fused_ops

if TYPE_CHECKING:
    from aipath.serve.model_runner import BatchLayout


class BlockDecode:
    """The block kernel's plan for one model and the runner's pools (both live as long as the runner)."""

    def __init__(self, model: Decoder, k_cache: torch.Tensor, v_cache: torch.Tensor, block_size: int) -> None:
        self.model, self.k_cache, self.v_cache, self.block_size = model, k_cache, v_cache, block_size
        self.plan = FusedDecode(model)

    @staticmethod
    def fits(model: Decoder, dtype: torch.dtype, device: torch.device) -> bool:
        """Float32 activations on the CPU, and blocks the kernel computes (int8, fused q/k/v and gate/up)."""
        return dtype == torch.float32 and device.type == "cpu" and fused_decode.supports(model) and fused_ops.load() is not None

    def run(self, lay: BatchLayout) -> torch.Tensor:
        """Logits ``(len(lay.logits_index), vocab)`` for a layout whose one group is all decodes."""
        (group,) = lay.groups
        assert group.q_len == 1 and group.tables.dtype == torch.int64
        model = self.model
        x = model.embed(lay.tokens).contiguous()  # (B, dim): the residual stream, updated in place
        tables = BlockTables.of(group.tables, group.lens, self.block_size)
        self.plan.run_paged(x, lay.positions, model.rope, self.k_cache, self.v_cache, tables)
        # Every row samples in a decode step, in order; otherwise index_select: ``x[index]`` started an
        # OpenMP team here that the loaded 2-core machine stalled for 5 ms a step (index_select: 0.1 ms).
        rows = x if lay.logits_index.shape[0] == x.shape[0] else x.index_select(0, lay.logits_index)
        h = fused_ops.add_rms_norm(rows, None, model.norm.weight, model.norm.eps)
        return model.lm_head(h).float()
