#!/usr/bin/env bash
# Run the retrieval eval on every development set in every mode, one run at a time.
# Usage: devsets/run_evals.sh [ROOT] [SET ...]
#   SET is a base set, a format variant of prepare_formats.sh (e.g. debian-ref-zh-pdf), or a
#   cross-language set (e.g. py-tutorial-zhq: its own questions over the set named in its docs-of).
#   The default is the four development sets; name the confirmation sets debian-maint-zh
#   and git-manual explicitly (they are for checking, not tuning: see README.md).
#   ROOT defaults to /tmp/aipath-devsets (as prepared by devsets/prepare.sh); the knowledge
#   bases are cached under /tmp/aipath-eval-home (override with AIPATH_EVAL_HOME).
# Each run's printed output goes to ROOT/<set>/<mode>.txt and the per-question results to
# ROOT/<set>/run-<mode>.jsonl.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
root="${1:-/tmp/aipath-devsets}"
shift || true
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(py-library py-tutorial debian-faq-zh debian-ref-zh)
home="${AIPATH_EVAL_HOME:-/tmp/aipath-eval-home}"
modes=(${MODES:-bm25 dense hybrid})

# the documents a set is asked about: its own, or those of the set named in its docs-of
docs_of() { if [ -f "$here/$1/docs-of" ]; then cat "$here/$1/docs-of"; else echo "$1"; fi; }

# prepare only what was asked for, so a set runs with just its own documentation package
base=() variants=0
for set in "${sets[@]}"; do
    docs="$(docs_of "$set")"
    if [ -f "$here/$docs/files.txt" ]; then base+=("$docs"); else variants=1; fi
done
[ ${#base[@]} -eq 0 ] || "$here/prepare.sh" "$root" "${base[@]}" >/dev/null
[ "$variants" -eq 0 ] || "$here/prepare_formats.sh" "$root" >/dev/null
for set in "${sets[@]}"; do
    questions="$here/$set/questions.jsonl"
    [ -f "$questions" ] || questions="$root/$set/questions.jsonl"  # a format variant
    for mode in "${modes[@]}"; do
        echo "== $set / $mode ($(date -u +%H:%M:%S))"
        mkdir -p "$root/$set"
        COLUMNS=120 "$repo/.venv/bin/aipath" eval retrieval \
            --docs "$root/$(docs_of "$set")/docs" \
            --questions "$questions" \
            --out "$root/$set/run-$mode.jsonl" \
            --mode "$mode" --top-k 10 --home "$home" | tee "$root/$set/$mode.txt"
    done
done
