"""Serving metrics in Prometheus' text format, under vLLM's metric names.

Dashboards and alerts written for vLLM (``vllm:num_requests_running``,
``vllm:time_to_first_token_seconds``, …) work unchanged against this server. Counters and
histograms are written by hand: the text format is a few lines, a client library is not
worth a dependency.
"""

from __future__ import annotations

import bisect
import time
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aipath.serve.engine import StepOutput

LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0)


class Histogram:
    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value

    def lines(self, name: str, labels: str) -> list[str]:
        out, total = [], 0
        for bound, count in zip([*map(str, self.buckets), "+Inf"], self.counts):
            total += count
            out.append(f'{name}_bucket{{{labels},le="{bound}"}} {total}')
        return out + [f"{name}_sum{{{labels}}} {self.sum}", f"{name}_count{{{labels}}} {total}"]


class ServingMetrics:
    """Updated by the engine after every step; read by ``/metrics``."""

    def __init__(self) -> None:
        self.prompt_tokens = 0
        self.generation_tokens = 0
        self.finished = Counter[str]()
        self.ttft = Histogram()
        self.itl = Histogram()
        self.e2e = Histogram()

    def observe_step(self, outputs: list["StepOutput"]) -> None:
        now = time.monotonic()
        for out in outputs:
            seq = out.seq
            if seq.first_token_time is None:
                seq.first_token_time = now
                self.ttft.observe(now - seq.arrival)
                self.prompt_tokens += seq.num_prompt_tokens
            else:
                self.itl.observe(now - seq.last_token_time)
            seq.last_token_time = now
            self.generation_tokens += 1
            if out.finished:
                self.e2e.observe(now - seq.arrival)
                self.finished[seq.finish_reason or "abort"] += 1

    def render(self, model: str, running: int, waiting: int, kv_usage: float, prefix_queries: int, prefix_hits: int, preemptions: int) -> str:
        labels = f'model_name="{model}"'
        lines: list[str] = []

        def metric(name: str, kind: str, help_: str, values: list[str]) -> None:
            lines.extend([f"# HELP vllm:{name} {help_}", f"# TYPE vllm:{name} {kind}", *values])

        def one(name: str, kind: str, help_: str, value: float) -> None:
            metric(name, kind, help_, [f"vllm:{name}{{{labels}}} {value}"])

        one("num_requests_running", "gauge", "Requests in the running batch.", running)
        one("num_requests_waiting", "gauge", "Requests waiting to be scheduled.", waiting)
        one("kv_cache_usage_perc", "gauge", "Fraction of KV cache blocks in use (1 = full).", kv_usage)
        one("prompt_tokens_total", "counter", "Prompt tokens processed.", self.prompt_tokens)
        one("generation_tokens_total", "counter", "Tokens generated.", self.generation_tokens)
        one("prefix_cache_queries_total", "counter", "Prompt tokens looked up in the prefix cache.", prefix_queries)
        one("prefix_cache_hits_total", "counter", "Prompt tokens found in the prefix cache.", prefix_hits)
        one("num_preemptions_total", "counter", "Sequences preempted (to be recomputed).", preemptions)
        metric("request_success_total", "counter", "Finished requests by finish reason.",
               [f'vllm:request_success_total{{{labels},finished_reason="{r}"}} {n}' for r, n in sorted(self.finished.items())])
        for name, hist, help_ in (
            ("time_to_first_token_seconds", self.ttft, "Time to first token."),
            ("inter_token_latency_seconds", self.itl, "Time between consecutive output tokens."),
            ("e2e_request_latency_seconds", self.e2e, "Arrival to last token."),
        ):
            metric(name, "histogram", help_, hist.lines(f"vllm:{name}", labels))
        return "\n".join(lines) + "\n"
