#!/usr/bin/env bash
# Copy each development set's source documents into <root>/<set>/docs/ (flat).
# Usage: devsets/prepare.sh [ROOT] [SET ...]   (default ROOT=/tmp/aipath-devsets, every set)
# Only the documentation packages of the chosen sets need to be installed.
# Files are copied with `cp -p` so modification times stay fixed: the eval command keys
# its cached knowledge base on path + size + mtime, so re-running prepare.sh keeps the cache.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="${1:-/tmp/aipath-devsets}"
shift || true
sets=("$@")
# debian-maint-zh, git-manual, bash-manual, debian-edu-zh, debian-man-zh and debian-man-en are
# confirmation sets (see README.md)
[ ${#sets[@]} -gt 0 ] || sets=(py-library py-tutorial debian-faq-zh debian-ref-zh debian-maint-zh git-manual
                               bash-manual debian-edu-zh debian-man-zh debian-man-en)

missing=()
for set in "${sets[@]}"; do
    case "$set" in
        py-library|py-tutorial) dir=/usr/share/doc/python3.11/html/library pkg=python3.11-doc ;;
        debian-faq-zh) dir=/usr/share/doc/debian/FAQ/zh-cn pkg=debian-faq-zh-cn ;;
        debian-ref-zh) dir=/usr/share/debian-reference pkg=debian-reference-zh-cn ;;
        debian-maint-zh) dir=/usr/share/doc/maint-guide-zh-cn/html pkg=maint-guide-zh-cn ;;
        git-manual) dir=/usr/share/doc/git-doc pkg=git-doc ;;
        bash-manual) dir=/usr/share/doc/bash/bashref.html pkg=bash-doc ;;  # /usr/share/doc/bash comes with bash
        debian-edu-zh) dir=/usr/share/doc/debian-edu-doc-zh-cn pkg=debian-edu-doc-zh-cn ;;
        debian-man-zh) dir=/usr/share/man/zh_CN pkg=manpages-zh ;;
        # man pages of the packages they document; minimal images drop /usr/share/man
        debian-man-en) dir=/usr/share/man/man1/find.1.gz pkg=man-db ;;
        *) echo "unknown set $set" >&2; exit 1 ;;
    esac
    [ -e "$dir" ] || [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
done
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
