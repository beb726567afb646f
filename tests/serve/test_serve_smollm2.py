"""End to end on the real SmolLM2-135M-Instruct: ``aipath serve-llm`` answers as ``LocalLLM`` does."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aipath.bench.serve import wait_healthy
from test_serve_http import client, free_port, stop

MESSAGES = [{"role": "user", "content": "Name three planets of the solar system."}]


@pytest.mark.slow
def test_served_smollm2_greedy_chat_equals_local_llm():
    from aipath.llm import load_local_llm

    try:
        llm = load_local_llm()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    port = free_port()
    cmd = [sys.executable, "-c", "from aipath.cli import main; main()", "serve-llm", "--port", str(port), "--num-blocks", "128", "--threads", "1"]
    proc = subprocess.Popen(cmd)
    try:
        # The first start converts the GGUF (cached afterwards), hence the long wait.
        wait_healthy(f"http://127.0.0.1:{port}", tries=1200, proc=proc)
        c = client(f"http://127.0.0.1:{port}")
        answer = c.chat.completions.create(model="smollm2", messages=MESSAGES, max_tokens=32, temperature=0)
        streamed = "".join(ch.choices[0].delta.content or "" for ch in c.chat.completions.create(
            model="smollm2", messages=MESSAGES, max_tokens=32, temperature=0, stream=True) if ch.choices)
        expected = llm.chat(MESSAGES, max_tokens=32)
        assert answer.choices[0].message.content == streamed == expected
        assert len(expected) > 10
    finally:
        stop(proc)
