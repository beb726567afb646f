"""Per-request sampling and stopping rules, as the OpenAI API (and vLLM) spell them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SamplingParams:
    """How one request picks tokens and when it stops. Temperature 0 is greedy."""

    max_tokens: int = 256
    temperature: float = 0.0
    top_k: int = 0  # 0: off
    top_p: float = 1.0  # 1: off
    repetition_penalty: float = 1.0  # CTRL's rule over prompt and output; 1: off
    presence_penalty: float = 0.0  # subtracted once from every token already generated
    frequency_penalty: float = 0.0  # subtracted per occurrence in the generated text
    seed: int | None = None
    stop: tuple[str, ...] = field(default_factory=tuple)
    stop_token_ids: tuple[int, ...] = field(default_factory=tuple)
    ignore_eos: bool = False
    logprobs: int | None = None  # None: no logprobs; k: the chosen token's plus the top k

    def __post_init__(self) -> None:
        assert self.max_tokens >= 1, "max_tokens must be >= 1"
        assert self.temperature >= 0, "temperature must be >= 0"
        assert self.top_k >= 0 and 0 < self.top_p <= 1, "need top_k >= 0 and 0 < top_p <= 1"
        assert self.repetition_penalty > 0, "repetition_penalty must be > 0"
        assert -2 <= self.presence_penalty <= 2 and -2 <= self.frequency_penalty <= 2, "penalties lie in [-2, 2]"
        assert self.logprobs is None or 0 <= self.logprobs <= 20, "logprobs must be in [0, 20]"
        object.__setattr__(self, "stop", tuple(s for s in self.stop if s))

    @property
    def greedy(self) -> bool:
        return self.temperature == 0
