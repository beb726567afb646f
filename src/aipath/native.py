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

# Vector math every AVX2 kernel needs, one copy pasted into each kernel's source.
AVX2_MATH = r"""
#include <immintrin.h>

// exp(x) for 8 floats (Cephes' polynomial, as in avx_mathfun): relative error about 1e-7.
static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f));
    x = _mm256_max_ps(x, _mm256_set1_ps(-88.3762626647949f));
    __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    const __m256 z = _mm256_mul_ps(x, x);
    __m256 y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
    y = _mm256_add_ps(_mm256_fmadd_ps(y, z, x), _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(0x7f)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float hmax(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
"""


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
