"""Small C++ kernels compiled on first use and called through ctypes.

The project's hot loops (the int8 matmul of the LLM, the serving engine's paged decode
attention) are plain C++ with AVX2 intrinsics and OpenMP, kept as source strings beside
the Python that calls them. ``load_library`` compiles one with ``g++`` (about a second),
caches the shared library under ``<data home>/kernels/`` keyed by a hash of the source,
and loads it. Where it cannot run — no AVX2, no ``g++``, a failed build — it returns None
with a ``RuntimeWarning`` that says why and what runs instead, so every caller keeps a
pure-PyTorch path with the same numbers.

The libraries link ``libgomp.so.1`` by name, so inside a process that imported torch they
share torch's OpenMP runtime (one thread pool) instead of starting a second one.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import warnings
from pathlib import Path

import torch

from aipath.config import data_home

FLAGS = ("-O3", "-mavx2", "-mfma", "-fopenmp", "-shared", "-fPIC", "-std=c++17")


def load_library(name: str, source: str, fallback: str) -> ctypes.CDLL | None:
    """The compiled ``source`` as a loaded library, or None (warning with ``fallback``)."""
    if torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"):
        return _unavailable(name, "this CPU has no AVX2", fallback)
    if shutil.which("g++") is None:
        return _unavailable(name, "g++ is not installed", fallback)
    try:
        return ctypes.CDLL(str(build(name, source)))
    except (OSError, subprocess.SubprocessError) as exc:
        detail = (exc.stderr.decode(errors="replace")[-500:]
                  if isinstance(exc, subprocess.CalledProcessError) else str(exc))
        return _unavailable(name, f"building it failed: {detail}", fallback)


def build(name: str, source: str) -> Path:
    """Compile ``source`` once per source version; a finished library is renamed into
    place, so concurrent first uses never load a half-written file."""
    folder = data_home() / "kernels"
    lib = folder / f"{name}-{hashlib.sha256(source.encode()).hexdigest()[:16]}.so"
    if lib.exists():
        return lib
    folder.mkdir(parents=True, exist_ok=True)
    src, tmp = folder / f".{name}.{os.getpid()}.cpp", folder / f".{name}.{os.getpid()}.so"
    src.write_text(source)
    try:
        subprocess.run(["g++", *FLAGS, str(src), "-o", str(tmp)], check=True,
                       capture_output=True, timeout=120)
        os.replace(tmp, lib)
    finally:
        src.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return lib


def _unavailable(name: str, reason: str, fallback: str) -> None:
    warnings.warn(f"{name} kernel unavailable ({reason}); {fallback}", RuntimeWarning, stacklevel=4)
    return None
