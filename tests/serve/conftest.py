"""Fixtures for the serving tests (the helpers live in ``serve_models``)."""

from __future__ import annotations

import pytest

from aipath.llm.decoder import Decoder
from serve_models import tiny_decoder


@pytest.fixture(scope="module")
def model() -> Decoder:
    return tiny_decoder()
