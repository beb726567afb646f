#!/usr/bin/env bash
# Copy each development set's source documents into <root>/<set>/docs/ (flat).
# Usage: devsets/prepare.sh [ROOT]   (default ROOT=/tmp/aipath-devsets)
# Files are copied with `cp -p` so modification times stay fixed: the eval command keys
# its cached knowledge base on path + size + mtime, so re-running prepare.sh keeps the cache.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="${1:-/tmp/aipath-devsets}"
sets=(py-library py-tutorial debian-faq-zh debian-ref-zh)

missing=()
[ -d /usr/share/doc/python3.11/html/library ] || missing+=(python3.11-doc)
[ -d /usr/share/debian-reference ] || missing+=(debian-reference-zh-cn)
[ -d /usr/share/doc/debian/FAQ/zh-cn ] || missing+=(debian-faq-zh-cn)
if [ ${#missing[@]} -gt 0 ]; then
    echo "missing documentation packages; install them with:" >&2
    echo "  sudo apt-get install ${missing[*]}" >&2
    exit 1
fi

for set in "${sets[@]}"; do
    dest="$root/$set/docs"
    mkdir -p "$dest"
    declare -A seen=()
    n=0
    while IFS= read -r src; do
        [ -n "$src" ] || continue
        if [ ! -f "$src" ]; then
            echo "$set: missing source file $src" >&2
            exit 1
        fi
        name="$(basename "$src")"
        if [ -n "${seen[$name]:-}" ]; then
            # keep flat names unique: prefix with the parent folder's name
            name="$(basename "$(dirname "$src")")-$name"
        fi
        seen[$name]=1
        if ! cmp -s "$src" "$dest/$name"; then
            cp -p "$src" "$dest/$name"
        fi
        n=$((n + 1))
    done < "$here/$set/files.txt"
    unset seen
    cp "$here/$set/questions.jsonl" "$root/$set/questions.jsonl" 2>/dev/null || true
    echo "$set: $n files in $dest"
done
