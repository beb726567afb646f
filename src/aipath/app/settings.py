"""Settings of the document-QA service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aipath.config import LLMEndpoint


@dataclass(frozen=True)
class AppSettings:
    home: Path
    max_upload_bytes: int = 50 * 1024 * 1024
    llm: LLMEndpoint | None = None  # None: the local model
    local_llm: str = "aipath"  # or "transformers"
    milvus_uri: str = ""  # the server of knowledge bases created with vector_store "milvus"

    def __post_init__(self) -> None:
        assert self.max_upload_bytes > 0
