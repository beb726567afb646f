"""The compile-on-first-use helper behind the project's C++ kernels."""

from __future__ import annotations

import ctypes
import subprocess

import pytest

from aipath import native

SOURCE = 'extern "C" long add_one(long x) { return x + 1; }\n'


def test_builds_once_and_loads(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AIPATH_HOME", str(tmp_path))
    if native.load_library("probe", SOURCE, "nothing") is None:
        pytest.skip("no g++ or no AVX2 here")
    lib = ctypes.CDLL(str(native.build("probe", SOURCE)))
    lib.add_one.argtypes, lib.add_one.restype = [ctypes.c_long], ctypes.c_long
    assert lib.add_one(41) == 42
    built = list((tmp_path / "kernels").iterdir())
    assert len(built) == 1 and built[0].name.startswith("probe-") and built[0].suffix == ".so"


def test_a_failed_build_warns_with_the_compiler_error_and_the_fallback(monkeypatch) -> None:
    def broken_build(name: str, source: str):
        raise subprocess.CalledProcessError(1, ["g++"], stderr=b"k.cpp:1: error: no AVX2 here")

    monkeypatch.setattr(native, "build", broken_build)
    monkeypatch.setattr(native.shutil, "which", lambda _: "/usr/bin/g++")
    with pytest.warns(RuntimeWarning, match="no AVX2 here.*torch runs instead"):
        assert native.load_library("probe", SOURCE, "torch runs instead") is None
