"""The engine behind an asyncio server: one thread steps the engine, requests stream from queues.

The engine is not thread-safe and does not need to be: only its thread touches it. The
event loop hands it work (add, abort) through an inbox of callables, and the engine thread
hands each step's outputs back to the requests' ``asyncio.Queue``s with one
``call_soon_threadsafe`` per step (one wake-up of the event loop, not one per token). A
request whose consumer goes away (client disconnect) aborts its sequence in a
``finally``, which frees its blocks at the next step boundary.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable

from aipath.serve.engine import LLMEngine, StepOutput
from aipath.serve.sequence import Sequence

log = logging.getLogger(__name__)
IDLE_POLL_S = 0.05  # how long the idle engine thread waits for work before checking for shutdown


class QueueFull(RuntimeError):
    """More requests are waiting than ``max_waiting`` allows (HTTP 429)."""


class AsyncEngine:
    def __init__(self, engine: LLMEngine) -> None:
        self.engine = engine
        self._inbox: queue.Queue[Callable[[], None]] = queue.Queue()
        self._streams: dict[Sequence, tuple[asyncio.AbstractEventLoop, asyncio.Queue[StepOutput | None]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llm-engine", daemon=True)
        self._thread.start()

    @property
    def num_waiting(self) -> int:
        return len(self.engine.scheduler.waiting) + self._inbox.qsize()

    def stream(self, seq: Sequence) -> AsyncIterator[StepOutput]:
        """Queue ``seq`` now (QueueFull if the queue is full); iterate for its step outputs."""
        if self.num_waiting >= self.engine.config.max_waiting:
            raise QueueFull(f"{self.num_waiting} requests are waiting already; try again later")
        outputs: asyncio.Queue[StepOutput | None] = asyncio.Queue()
        self._streams[seq] = (asyncio.get_running_loop(), outputs)
        self._inbox.put(lambda: self.engine.add(seq))
        return self._consume(seq, outputs)

    async def _consume(self, seq: Sequence, outputs: asyncio.Queue[StepOutput | None]) -> AsyncIterator[StepOutput]:
        try:
            while (out := await outputs.get()) is not None:
                yield out
                if out.finished:
                    return
        finally:
            self._streams.pop(seq, None)
            if not seq.finished:
                self._inbox.put(lambda: self.engine.abort(seq))

    def shutdown(self) -> None:
        """Abort what is in flight, end every stream, and stop the engine thread."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._drain(wait=not self.engine.has_unfinished())
            if not self.engine.has_unfinished():
                continue
            try:
                outputs = self.engine.step()
            except Exception:  # a bug must not hang every client: end all streams, keep serving
                log.exception("engine step failed; aborting in-flight requests")
                self._abort_all()
                continue
            self._deliver_step(outputs)
        self._drain(wait=False)
        self._abort_all()

    def _drain(self, wait: bool) -> None:
        try:
            command = self._inbox.get(timeout=IDLE_POLL_S) if wait else self._inbox.get_nowait()
            while True:
                command()
                command = self._inbox.get_nowait()
        except queue.Empty:
            return

    def _abort_all(self) -> None:
        for seq in list(self._streams):
            self.engine.abort(seq)
            self._deliver(seq, None)

    def _deliver_step(self, outputs: list[StepOutput]) -> None:
        """A step's outputs in one callback per event loop: one wake-up of the loop per step, not per token."""
        batches: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Queue[StepOutput | None], StepOutput]]] = {}
        for out in outputs:
            target = self._streams.get(out.seq)
            if target is not None:
                batches.setdefault(target[0], []).append((target[1], out))
        for loop, batch in batches.items():
            loop.call_soon_threadsafe(_put_all, batch)

    def _deliver(self, seq: Sequence, out: StepOutput | None) -> None:
        target = self._streams.get(seq)
        if target is not None:
            loop, outputs = target
            loop.call_soon_threadsafe(outputs.put_nowait, out)


def _put_all(batch: list[tuple[asyncio.Queue[StepOutput | None], StepOutput]]) -> None:
    for outputs, out in batch:
        outputs.put_nowait(out)
