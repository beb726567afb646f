"""Where aipath keeps its data, and the settings a user can override by environment.

Everything persistent (knowledge bases, caches of converted weights, lab progress) lives
under one data directory: ``--home`` on the command line, else ``$AIPATH_HOME``, else
``~/.local/share/aipath`` (the XDG default).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path("~/.local/share/aipath")


def data_home(override: str | Path | None = None) -> Path:
    """Return the data directory, creating it if needed."""
    raw = override or os.environ.get("AIPATH_HOME") or DEFAULT_HOME
    home = Path(raw).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


@dataclass(frozen=True)
class LLMEndpoint:
    """An OpenAI-compatible chat endpoint (vLLM, MindIE, Ollama, llama.cpp server, aipath)."""

    url: str
    model: str
    api_key: str | None = None

    @classmethod
    def from_env(
        cls, url: str | None = None, model: str | None = None, api_key: str | None = None
    ) -> "LLMEndpoint | None":
        """Explicit arguments win over ``AIPATH_LLM_URL/MODEL/KEY``; None when no URL is set."""
        url = url or os.environ.get("AIPATH_LLM_URL")
        if not url:
            return None
        model = model or os.environ.get("AIPATH_LLM_MODEL") or "default"
        api_key = api_key or os.environ.get("AIPATH_LLM_KEY")
        return cls(url=url.rstrip("/"), model=model, api_key=api_key)
