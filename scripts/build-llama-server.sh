#!/usr/bin/env bash
# Build llama.cpp's `llama-server` (the peer of `aipath bench serve`: parallel slots,
# continuous batching) into VENV/bin. PyPI ships no llama.cpp binary for this machine, but
# llama-cpp-python's source archive carries the whole llama.cpp tree, server included, so
# the same pinned version that `make peers` compiles for `aipath bench llm` serves here too.
# Usage: scripts/build-llama-server.sh VENV VERSION   (about 15 minutes on 2 cores)
set -euo pipefail
venv="$(cd "$1" && pwd)"
version="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$venv/bin/python" -m pip install --quiet 'cmake>=3.22,<4'
"$venv/bin/python" -m pip download --quiet --no-deps --no-binary :all: \
    "llama-cpp-python==$version" -d "$work"
tar xzf "$work/llama_cpp_python-$version.tar.gz" -C "$work"
src="$work/llama_cpp_python-$version/vendor/llama.cpp"

# Static libraries so the installed binary needs nothing from the deleted build tree; no
# web UI (its assets would be downloaded or built with npm), no curl (models are local).
"$venv/bin/cmake" -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >"$work/configure.log" \
    || { cat "$work/configure.log" >&2; exit 1; }
"$venv/bin/cmake" --build "$work/build" --target llama-server -j "$(nproc)"
install -m 755 "$work/build/bin/llama-server" "$venv/bin/llama-server"
"$venv/bin/llama-server" --version
