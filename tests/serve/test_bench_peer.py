"""``aipath bench serve``'s llama.cpp peer: a server that dies at start-up costs only its own
rows, and the bench says why (its last output), instead of losing the rows measured so far."""

from __future__ import annotations

import stat
from pathlib import Path

from aipath.bench import serve


def test_a_peer_that_dies_at_start_up_is_reported_and_skipped(tmp_path: Path, monkeypatch, capsys) -> None:
    fake = tmp_path / "llama-server"
    fake.write_text("#!/bin/sh\necho 'error: unknown argument: -tb' >&2\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(serve.shutil, "which", lambda name, path=None: str(fake))

    assert serve.llama_server([1, 4], new_tokens=8) == []
    err = capsys.readouterr().err
    assert "llama.cpp server failed at 1 clients" in err and "exited with code 3" in err
    assert "unknown argument: -tb" in err
