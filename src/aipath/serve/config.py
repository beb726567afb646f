"""Engine configuration: cache geometry, batch limits and the device, with asserted invariants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

Device = Literal["cpu", "cuda", "npu"]


@dataclass(frozen=True)
class EngineConfig:
    """How much KV cache to hold and how much work one engine step may take on."""

    block_size: int = 16  # tokens per KV block: small blocks waste less, large ones gather faster
    num_blocks: int = 512  # KV blocks in the pool (the memory budget of all sequences together)
    max_num_seqs: int = 64  # sequences in the running batch
    max_num_batched_tokens: int = 512  # tokens computed per step; longer prompts are chunked
    max_waiting: int = 256  # queued requests beyond this are refused (HTTP 429)
    max_model_len: int | None = None  # None: the model's max_seq_len
    enable_prefix_caching: bool = True
    device: Device = "cpu"

    def __post_init__(self) -> None:
        assert self.block_size > 0 and self.num_blocks > 0, "need blocks of at least one token"
        assert self.max_num_seqs > 0 and self.max_num_batched_tokens > 0 and self.max_waiting > 0
        assert self.max_model_len is None or self.max_model_len > 1
        if self.device == "cuda":
            assert torch.cuda.is_available(), "device 'cuda' asked for but torch sees no CUDA GPU"
        if self.device == "npu":
            import torch_npu  # noqa: F401  (registers the 'npu' device with torch)
