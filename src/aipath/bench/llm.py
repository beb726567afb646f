"""``aipath bench llm``: our Transformer vs ``transformers`` (and llama.cpp when installed) on SmolLM2.

Every engine runs in its own subprocess, so its peak memory (max RSS) is its own and one
engine's thread pools or caches cannot slow the next. All engines get the same weights
(``transformers`` is built from our dequantised GGUF tensors), the same token ids and the
same thread count. Measured per engine:

- prefill tokens/s: one 512-token prompt through the model (KV cache filled);
- decode tokens/s at batch 1: greedy, 128 new tokens, timed from the first new token to
  the last (so the prefill is excluded);
- total decode throughput at batch 8 and 32: B different 32-token prompts, 32 new tokens each
  (llama.cpp through its batch API: one KV sequence per prompt, every row's token in one
  ``llama_decode`` per step).

Results are printed as a Markdown table, with ratios against ``transformers`` float32.
This is a benchmark, not a test: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import torch

TEXT = (
    "The history of computing is a story of abstraction layered on abstraction. Early machines were "
    "programmed by rewiring; then came stored programs, assemblers, compilers, operating systems and "
    "networks. Each layer hid the one below and let more people build more things. 机器学习让计算机从数据中学习。 "
)


@dataclass(frozen=True)
class Sizes:
    prefill: int = 512
    decode: int = 128
    batch_prompt: int = 32
    batch_new: int = 32
    batches: tuple[int, ...] = (8, 32)

    @classmethod
    def quick(cls) -> "Sizes":
        return cls(prefill=64, decode=16, batch_prompt=8, batch_new=8, batches=(2, 4))


def token_pool(tokenizer, n: int) -> list[int]:  # noqa: ANN001 - LoadedTokenizer
    ids = tokenizer.encode(TEXT, allow_special=False)
    return (ids * (n // len(ids) + 1))[:n]


def _ours(dtype: str, sizes: Sizes, home: str | None) -> dict:
    from aipath.llm import load_local_llm
    from aipath.llm.generate import generate_tokens
    from aipath.llm.load import weight_bytes
    from aipath.llm.sampling import SamplingParams

    llm = load_local_llm(dtype, home=home)  # type: ignore[arg-type]
    model = llm.model
    pool = token_pool(llm.tok, sizes.prefill + 64 * max(sizes.batches))

    def prefill() -> float:
        ids = torch.tensor([pool[: sizes.prefill]])
        with torch.inference_mode():
            start = time.perf_counter()
            model(ids, model.new_cache(1, sizes.prefill), last_only=True)
        return sizes.prefill / (time.perf_counter() - start)

    def decode(prompts: list[list[int]], n: int) -> float:
        stamps = [time.perf_counter() for _ in generate_tokens(model, prompts, SamplingParams(max_tokens=n))]
        return len(prompts) * (len(stamps) - 1) / (stamps[-1] - stamps[0])

    return _run_workloads(prefill, decode, pool, sizes) | {"weights_mb": weight_bytes(model) / 2**20}


def _transformers(sizes: Sizes, home: str | None) -> dict:
    import transformers as tf

    from aipath.llm.hf import hf_to_ours
    from aipath.llm.local import smollm2_path
    from aipath.llm.tokenizer_io import from_gguf_meta
    from aipath.llm.weight_cache import load_gguf_cached

    cfg, meta, sd = load_gguf_cached(smollm2_path(), home)
    hf_cfg = tf.LlamaConfig(
        vocab_size=cfg.vocab_size, hidden_size=cfg.dim, intermediate_size=cfg.hidden_dim, num_hidden_layers=cfg.n_layers,
        num_attention_heads=cfg.n_heads, num_key_value_heads=cfg.kv_heads, max_position_embeddings=cfg.max_seq_len,
        rms_norm_eps=cfg.norm_eps, rope_theta=cfg.rope_theta, tie_word_embeddings=cfg.tie_embeddings,
    )  # fmt: skip
    with torch.device("meta"):
        model = tf.LlamaForCausalLM(hf_cfg)
    names = hf_to_ours(model.state_dict(), cfg)
    model.load_state_dict({hf: sd[ours] for hf, ours in names.items() if ours in sd}, strict=False, assign=True)
    model.tie_weights()
    model.model.rotary_emb = type(model.model.rotary_emb)(hf_cfg)  # buffers were on the meta device
    model.eval()
    pool = token_pool(from_gguf_meta(meta), sizes.prefill + 64 * max(sizes.batches))

    def prefill() -> float:
        ids = torch.tensor([pool[: sizes.prefill]])
        with torch.inference_mode():
            start = time.perf_counter()
            model(ids, use_cache=True, logits_to_keep=1)
        return sizes.prefill / (time.perf_counter() - start)

    def decode(prompts: list[list[int]], n: int) -> float:
        stamps = _Stamps()
        ids = torch.tensor(prompts)
        model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, min_new_tokens=n, do_sample=False, streamer=stamps, pad_token_id=0)
        return len(prompts) * (len(stamps.times) - 1) / (stamps.times[-1] - stamps.times[0])

    weights = sum(p.nbytes for p in {p.data_ptr(): p for p in model.parameters()}.values())
    return _run_workloads(prefill, decode, pool, sizes) | {"weights_mb": weights / 2**20}


class _Stamps:
    """A ``transformers`` streamer that only records when each new token arrives."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if self.prompt_seen:
            self.times.append(time.perf_counter())
        self.prompt_seen = True

    def end(self) -> None:
        pass


def _llama_cpp(sizes: Sizes, threads: int) -> dict:
    from llama_cpp import Llama

    from aipath.llm.local import smollm2_path

    llm = Llama(str(smollm2_path()), n_ctx=sizes.prefill + sizes.decode + 64, n_threads=threads, n_batch=512, verbose=False)
    pool = llm.tokenize(TEXT.encode(), add_bos=False) * 50

    def prefill() -> float:
        llm.reset()
        start = time.perf_counter()
        llm.eval(pool[: sizes.prefill])
        return sizes.prefill / (time.perf_counter() - start)

    def decode(prompts: list[list[int]], n: int) -> float:
        if len(prompts) > 1:
            return _llama_cpp_batched(llm, prompts, n, threads)
        llm.reset()
        stamps = [time.perf_counter() for _, _ in zip(llm.generate(prompts[0], temp=0.0), range(n))]
        return (len(stamps) - 1) / (stamps[-1] - stamps[0])

    return _run_workloads(prefill, decode, pool, sizes) | {"weights_mb": Path(smollm2_path()).stat().st_size / 2**20}


def _llama_cpp_batched(llm, prompts: list[list[int]], n: int, threads: int) -> float:  # noqa: ANN001 - llama_cpp.Llama
    """Greedy decoding of all prompts at once through llama.cpp's own batch API (one sequence id per row).

    llama-cpp-python's high-level API decodes one sequence at a time, so this drives
    ``llama_decode`` directly, as ``llama-server`` and llama.cpp's ``batched`` example do: a
    context with one KV sequence per prompt, each step one batch holding every row's token.
    """
    import llama_cpp as lc
    import numpy as np

    b, width = len(prompts), max(len(p) for p in prompts)
    params = lc.llama_context_default_params()
    per_seq = -(-(width + n) // 256) * 256  # each sequence gets n_ctx / n_seq_max positions
    params.n_ctx = b * per_seq
    params.n_batch = params.n_ubatch = max(512, b * width)
    params.n_seq_max, params.n_threads, params.n_threads_batch = b, threads, threads
    ctx = lc.llama_init_from_model(llm.model, params)
    batch = lc.llama_batch_init(b * width, 0, 1)
    n_vocab = lc.llama_vocab_n_tokens(lc.llama_model_get_vocab(llm.model))

    def submit(rows: list[list[int]], start: list[int]) -> list[int]:
        """Tokens ``rows[s]`` of sequence s from position ``start[s]``; returns each row's logits index."""
        i, last = 0, []
        for seq, (tokens, pos) in enumerate(zip(rows, start)):
            for j, token in enumerate(tokens):
                batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, pos + j, 1
                batch.seq_id[i][0], batch.logits[i] = seq, j == len(tokens) - 1
                i += 1
            last.append(i - 1)
        batch.n_tokens = i
        if lc.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")
        return last

    try:
        rows, stamps = submit(prompts, [0] * b), []
        lengths = [len(p) for p in prompts]
        for step in range(n):
            new = [int(np.ctypeslib.as_array(lc.llama_get_logits_ith(ctx, r), shape=(n_vocab,)).argmax()) for r in rows]
            stamps.append(time.perf_counter())
            if step < n - 1:
                rows = submit([[t] for t in new], [length + step for length in lengths])
    finally:
        lc.llama_batch_free(batch)
        lc.llama_free(ctx)
    return b * (len(stamps) - 1) / (stamps[-1] - stamps[0])


def _run_workloads(prefill, decode, pool: list[int], sizes: Sizes) -> dict:  # noqa: ANN001 - callables
    prefill()  # warm-up: first-call allocations and lazy initialisation
    out = {"prefill": prefill(), "decode_b1": decode([pool[: sizes.batch_prompt]], sizes.decode)}
    for b in sizes.batches:
        prompts = [pool[i * 7 : i * 7 + sizes.batch_prompt] for i in range(b)]
        out[f"decode_b{b}"] = decode(prompts, sizes.batch_new)
    return out


def run_engine(engine: str, dtype: str, quick: bool, threads: int, home: str | None) -> dict:
    """Measure one engine in this process (called in a fresh subprocess by ``run_llm_bench``)."""
    torch.set_num_threads(threads)
    sizes = Sizes.quick() if quick else Sizes()
    if engine == "aipath":
        result = _ours(dtype, sizes, home)
    elif engine == "transformers":
        result = _transformers(sizes, home)
    else:
        result = _llama_cpp(sizes, threads)
    return result | {"engine": engine, "dtype": dtype, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_llm_bench(quick: bool, dtypes: list[str], threads: int, peers: bool, home: Path | None) -> list[dict]:
    """Run every engine in its own subprocess and print the comparison table."""
    from aipath.llm.local import smollm2_path
    from aipath.llm.weight_cache import load_gguf_cached

    load_gguf_cached(smollm2_path(), home)  # fill the weight cache once, outside the timings
    engines = [("transformers", "float32")] if peers else []  # the reference first, for the ratios
    if peers and find_spec("llama_cpp") is not None:
        engines.append(("llama.cpp", "Q4_1/Q8_0"))
    engines += [("aipath", d) for d in dtypes]
    results = []
    for engine, dtype in engines:
        print(f"measuring {engine} {dtype} ...", file=sys.stderr, flush=True)
        args = json.dumps([engine, dtype, quick, threads, None if home is None else str(home)])
        code = "import json,sys; from aipath.bench.llm import run_engine; print(json.dumps(run_engine(*json.loads(sys.argv[1]))))"
        proc = subprocess.run([sys.executable, "-c", code, args], capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"  {engine} {dtype} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(format_table(results, Sizes.quick() if quick else Sizes(), threads) + "\n", flush=True)  # partial runs still report
    if not find_spec("llama_cpp"):
        print("llama-cpp-python is not installed: no llama.cpp row (the issue's reference: 85-115 tok/s at batch 1).", file=sys.stderr)
    return results


def format_table(results: list[dict], sizes: Sizes, threads: int) -> str:
    """Markdown table of absolute figures and ratios against transformers float32."""
    keys = ["prefill", "decode_b1"] + [f"decode_b{b}" for b in sizes.batches]
    heads = [f"prefill tok/s ({sizes.prefill})", f"decode b1 tok/s ({sizes.decode} new)"] + [f"decode b{b} total tok/s" for b in sizes.batches]
    ref = next((r for r in results if r["engine"] == "transformers"), None)
    lines = [
        f"SmolLM2-135M-Instruct, {threads} threads, greedy.",
        "",
        "| engine | weights | weight MiB | peak RSS MiB | " + " | ".join(heads) + " |",
        "|---" * (4 + len(heads)) + "|",
    ]
    for r in results:
        cells = []
        for k in keys:
            cell = f"{r[k]:.1f}"
            if ref is not None and r is not ref and ref[k] == ref[k] and r[k] == r[k]:
                cell += f" ({r[k] / ref[k]:.2f}x)"
            cells.append(cell)
        lines.append(f"| {r['engine']} | {r['dtype']} | {r['weights_mb']:.0f} | {r['peak_rss_mb']:.0f} | " + " | ".join(cells) + " |")
    if ref is not None:
        lines += ["", "(N.NNx) = ratio to transformers float32 in the same run."]
    return "\n".join(lines)
