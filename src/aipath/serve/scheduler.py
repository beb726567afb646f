"""Continuous batching: which sequences run in the next step, and how many tokens each.

Every step takes at most ``max_num_batched_tokens`` tokens. Running sequences go first
(a decode costs one token; a prompt still being prefilled takes what budget is left, so a
long prompt is *chunked* over several steps instead of stalling everyone's decode), then
waiting requests join the batch as far as blocks and budget allow. When a running
sequence needs a new block and none is free, the most recently admitted sequence is
*preempted*: its blocks are freed and it goes back to the front of the queue, to be
recomputed from its tokens later (recompute, not swap: on a CPU the two cost alike).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from aipath.serve.block_manager import BlockManager
from aipath.serve.config import EngineConfig
from aipath.serve.sequence import Sequence, Status


@dataclass
class ScheduledBatch:
    """The sequences of one step and the number of new tokens each computes."""

    seqs: list[Sequence]
    num_tokens: list[int]

    def __bool__(self) -> bool:
        return bool(self.seqs)


class Scheduler:
    def __init__(self, config: EngineConfig, block_manager: BlockManager) -> None:
        self.config = config
        self.block_manager = block_manager
        self.waiting: deque[Sequence] = deque()
        self.running: deque[Sequence] = deque()
        self.num_preemptions = 0

    def add(self, seq: Sequence) -> None:
        self.waiting.append(seq)

    def has_unfinished(self) -> bool:
        return bool(self.waiting or self.running)

    def schedule(self) -> ScheduledBatch:
        batch = ScheduledBatch([], [])
        budget = self.config.max_num_batched_tokens
        budget = self._schedule_running(batch, budget)
        self._schedule_waiting(batch, budget)
        return batch

    def _schedule_running(self, batch: ScheduledBatch, budget: int) -> int:
        kept: deque[Sequence] = deque()
        while self.running and budget > 0:
            seq = self.running.popleft()
            while not self.block_manager.append_slots(seq):
                if not self.running:  # nobody left to evict but itself
                    self._preempt(seq)
                    break
                self._preempt(self.running.pop())
            else:
                n = min(seq.num_uncomputed, budget)
                batch.seqs.append(seq)
                batch.num_tokens.append(n)
                budget -= n
                kept.append(seq)
        self.running = kept + self.running  # sequences the budget did not reach keep their place
        return budget

    def _schedule_waiting(self, batch: ScheduledBatch, budget: int) -> None:
        while self.waiting and budget > 0 and len(self.running) < self.config.max_num_seqs:
            seq = self.waiting[0]
            if not self.block_manager.allocate(seq):
                break
            self.waiting.popleft()
            seq.status = Status.RUNNING
            n = min(seq.num_uncomputed, budget)
            batch.seqs.append(seq)
            batch.num_tokens.append(n)
            budget -= n
            self.running.append(seq)

    def _preempt(self, seq: Sequence) -> None:
        self.block_manager.deallocate(seq)
        seq.status = Status.WAITING
        self.waiting.appendleft(seq)
        self.num_preemptions += 1

    def finish(self, seq: Sequence, reason: str) -> None:
        """End ``seq`` (done or aborted) wherever it is and free its blocks."""
        if seq.status is Status.RUNNING:
            self.running.remove(seq)
        elif seq.status is Status.WAITING:
            self.waiting.remove(seq)
        if seq.block_table:
            self.block_manager.deallocate(seq)
        seq.status = Status.FINISHED
        seq.finish_reason = reason
