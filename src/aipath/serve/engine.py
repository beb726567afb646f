"""``LLMEngine``: requests in, tokens out, one scheduler step at a time.

``step()`` is the whole engine: schedule, one forward pass over the paged cache, sample,
then append each sampled token and check its stop rules. ``generate()`` runs steps until
a batch of prompts is done (offline use); ``AsyncEngine`` runs them in a thread for the
server.
"""

from __future__ import annotations

from dataclasses import dataclass

from aipath.llm.decoder import Decoder
from aipath.llm.local import LocalLLM
from aipath.llm.streaming import TextStream
from aipath.llm.tokenizer_io import LoadedTokenizer
from aipath.serve.block_manager import BlockManager
from aipath.serve.config import EngineConfig
from aipath.serve.metrics import ServingMetrics
from aipath.serve.model_runner import ModelRunner
from aipath.serve.sampler import Sampler
from aipath.serve.sampling_params import SamplingParams
from aipath.serve.scheduler import Scheduler
from aipath.serve.sequence import Sequence, Status, TokenLogprob


@dataclass
class StepOutput:
    """What one step did for one sequence: the new token and the text it made safe to show."""

    seq: Sequence
    token_id: int
    text: str
    logprob: TokenLogprob | None
    finished: bool  # a snapshot: the consumer may read this output steps after it was made


@dataclass
class Completion:
    """A finished request: the generated token ids and text, and why it stopped."""

    token_ids: list[int]
    text: str
    finish_reason: str
    num_prompt_tokens: int


class LLMEngine:
    def __init__(self, model: Decoder, tokenizer: LoadedTokenizer | None = None, config: EngineConfig | None = None) -> None:
        self.config = config = config or EngineConfig()
        self.model_config = model.cfg
        self.tokenizer = tokenizer
        self.max_model_len = min(config.max_model_len or model.cfg.max_seq_len, model.cfg.max_seq_len, config.num_blocks * config.block_size)
        self.block_manager = BlockManager(config.num_blocks, config.block_size, config.enable_prefix_caching)
        self.scheduler = Scheduler(config, self.block_manager)
        self.runner = ModelRunner(model, config)
        self.sampler = Sampler()
        self.metrics = ServingMetrics()
        eos = tokenizer.eos_token if tokenizer else None
        self.eos_ids = {tokenizer.tokenizer.token_id(eos)} if eos else set()

    @classmethod
    def from_llm(cls, llm: LocalLLM, config: EngineConfig | None = None) -> "LLMEngine":
        return cls(llm.model, llm.tok, config)

    def new_sequence(self, prompt: str | list[int], params: SamplingParams, request_id: str | None = None) -> Sequence:
        """A validated sequence (not yet queued); ValueError says what is wrong with the request."""
        if isinstance(prompt, str):
            if self.tokenizer is None:
                raise ValueError("this engine has no tokenizer; send token ids")
            prompt = self.tokenizer.encode(prompt)
        if not prompt:
            raise ValueError("the prompt is empty")
        if any(not 0 <= t < self.model_config.vocab_size for t in prompt):
            raise ValueError(f"token ids must lie in [0, {self.model_config.vocab_size})")
        if len(prompt) >= self.max_model_len:
            raise ValueError(f"the prompt has {len(prompt)} tokens; this model takes at most {self.max_model_len - 1}")
        if params.stop and self.tokenizer is None:
            raise ValueError("stop strings need a tokenizer")
        seq = Sequence(prompt, params, **({"request_id": request_id} if request_id else {}))
        seq.stream = TextStream(params.stop) if self.tokenizer else None
        return seq

    def add(self, seq: Sequence) -> None:
        self.scheduler.add(seq)

    def add_request(self, prompt: str | list[int], params: SamplingParams) -> Sequence:
        seq = self.new_sequence(prompt, params)
        self.add(seq)
        return seq

    def abort(self, seq: Sequence) -> None:
        if seq.status is not Status.FINISHED:
            self.scheduler.finish(seq, "abort")
            self.metrics.finished["abort"] += 1

    def has_unfinished(self) -> bool:
        return self.scheduler.has_unfinished()

    def step(self) -> list[StepOutput]:
        batch = self.scheduler.schedule()
        if not batch:
            return []
        sample = [seq.num_computed_tokens + n == len(seq) for seq, n in zip(batch.seqs, batch.num_tokens)]
        logits = self.runner.run(batch, sample)
        for seq, n in zip(batch.seqs, batch.num_tokens):
            before = seq.num_computed_tokens
            seq.num_computed_tokens += n
            self.block_manager.register_full_blocks(seq, before)
        sampled = [seq for seq, s in zip(batch.seqs, sample) if s]
        tokens, logprobs = self.sampler(logits, sampled)
        outputs = [self._append(seq, t, lp) for seq, t, lp in zip(sampled, tokens, logprobs)]
        self.metrics.observe_step(outputs)
        return outputs

    def _append(self, seq: Sequence, token: int, logprob: TokenLogprob | None) -> StepOutput:
        seq.token_ids.append(token)
        if logprob is not None:
            seq.logprobs.append(logprob)
        params, text, reason = seq.params, "", None
        if token in params.stop_token_ids or (token in self.eos_ids and not params.ignore_eos):
            reason = "stop"
        elif seq.stream is not None:
            text = seq.stream.push(self.tokenizer.tokenizer.decode_bytes([token]))
            reason = "stop" if seq.stream.stopped else None
        if reason is None and (len(seq.output_ids) >= params.max_tokens or len(seq) >= self.max_model_len):
            reason = "length"
        if reason is not None:
            if seq.stream is not None:
                text += seq.stream.finish()
            self.scheduler.finish(seq, reason)
        return StepOutput(seq, token, text, logprob, reason is not None)

    def generate(self, prompts: list[str] | list[list[int]], params: SamplingParams | list[SamplingParams]) -> list[Completion]:
        """Run a batch of prompts to completion (continuous batching inside); results in order."""
        params = params if isinstance(params, list) else [params] * len(prompts)
        seqs = [self.add_request(p, sp) for p, sp in zip(prompts, params)]
        while self.has_unfinished():
            self.step()
        return [completion(s) for s in seqs]


def completion(seq: Sequence) -> Completion:
    text = seq.stream.text if seq.stream is not None else ""
    return Completion(seq.output_ids, text, seq.finish_reason or "abort", seq.num_prompt_tokens)
