"""The paged KV cache's bookkeeping: fixed-size blocks, reference counts, prefix caching.

Each sequence owns a *block table* (block ids in order); token ``i`` of a sequence lives in
slot ``i % block_size`` of block ``table[i // block_size]``. A full block is identified by a
chained hash (its tokens and the hash of the block before it), so two prompts that share a
prefix share those blocks: the second one skips their prefill. A hit is verified against
the block's stored tokens, so a hash collision costs a recompute, never a wrong answer.
Freed blocks keep their contents and hash until reused, so a later request can revive them.
"""

from __future__ import annotations

from dataclasses import dataclass

from aipath.serve.sequence import Sequence


@dataclass
class Block:
    block_id: int
    ref_count: int = 0
    hash: int | None = None  # set once the block is full and its KV computed
    token_ids: tuple[int, ...] = ()


def chain_hash(prev: int | None, tokens: list[int]) -> int:
    return hash((prev, tuple(tokens)))


class BlockManager:
    def __init__(self, num_blocks: int, block_size: int, prefix_caching: bool = True) -> None:
        self.block_size = block_size
        self.prefix_caching = prefix_caching
        self.blocks = [Block(i) for i in range(num_blocks)]
        self.free: dict[int, None] = dict.fromkeys(range(num_blocks))  # insertion order = eviction order
        self.cached: dict[int, int] = {}  # chained hash -> block id
        self.prefix_queries = 0  # prompt tokens looked up in the prefix cache
        self.prefix_hits = 0  # of those, tokens found

    @property
    def num_free(self) -> int:
        return len(self.free)

    def usage(self) -> float:
        return 1.0 - len(self.free) / len(self.blocks)

    def allocate(self, seq: Sequence) -> bool:
        """Blocks for all of ``seq``'s tokens, reusing cached prefix blocks; False if they don't fit."""
        assert not seq.block_table, "sequence already holds blocks"
        hits = self._cached_prefix(seq)
        revived = sum(1 for b in hits if self.blocks[b].ref_count == 0)
        if seq.num_blocks_needed(self.block_size) - len(hits) + revived > len(self.free):
            return False
        for block_id in hits:
            self._ref(block_id)
        seq.block_table = hits + [self._take_free() for _ in range(seq.num_blocks_needed(self.block_size) - len(hits))]
        seq.num_computed_tokens = seq.num_cached_tokens = len(hits) * self.block_size
        self.prefix_queries += len(seq)
        self.prefix_hits += seq.num_cached_tokens
        return True

    def append_slots(self, seq: Sequence) -> bool:
        """Grow the block table to cover every token of ``seq``; False (and no change) if out of blocks."""
        need = seq.num_blocks_needed(self.block_size) - len(seq.block_table)
        if need > len(self.free):
            return False
        seq.block_table += [self._take_free() for _ in range(need)]
        return True

    def register_full_blocks(self, seq: Sequence, computed_before: int) -> None:
        """Publish blocks that became full and computed in the last step to the prefix cache."""
        if not self.prefix_caching:
            return
        bs = self.block_size
        for i in range(computed_before // bs, seq.num_computed_tokens // bs):
            block = self.blocks[seq.block_table[i]]
            if block.hash is not None:
                continue
            prev = self.blocks[seq.block_table[i - 1]].hash if i else None
            block.token_ids = tuple(seq.block_tokens(i, bs))
            block.hash = chain_hash(prev, list(block.token_ids))
            self.cached[block.hash] = block.block_id

    def deallocate(self, seq: Sequence) -> None:
        """Drop ``seq``'s references; blocks nobody uses go back to the pool, tail first."""
        for block_id in reversed(seq.block_table):
            block = self.blocks[block_id]
            block.ref_count -= 1
            assert block.ref_count >= 0
            if block.ref_count == 0:
                self.free[block_id] = None
        seq.block_table = []
        seq.num_computed_tokens = 0

    def _cached_prefix(self, seq: Sequence) -> list[int]:
        """Cached blocks matching ``seq``'s leading full blocks; the last token is always recomputed
        (its logits are needed), so only blocks within the first ``len - 1`` tokens count."""
        if not self.prefix_caching:
            return []
        hits: list[int] = []
        h = None
        for i in range((len(seq) - 1) // self.block_size):
            tokens = seq.block_tokens(i, self.block_size)
            h = chain_hash(h, tokens)
            block_id = self.cached.get(h)
            if block_id is None or self.blocks[block_id].token_ids != tuple(tokens):
                break
            hits.append(block_id)
        return hits

    def _ref(self, block_id: int) -> None:
        block = self.blocks[block_id]
        if block.ref_count == 0:
            del self.free[block_id]
        block.ref_count += 1

    def _take_free(self) -> int:
        """The least recently freed block, forgotten by the prefix cache."""
        block_id = next(iter(self.free))
        del self.free[block_id]
        block = self.blocks[block_id]
        if block.hash is not None and self.cached.get(block.hash) == block_id:
            del self.cached[block.hash]
        block.hash, block.token_ids, block.ref_count = None, (), 1
        return block_id
