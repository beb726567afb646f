#!/usr/bin/env bash
# The sets' questions over whole documentation folders as Debian installs them (every page,
# the .txt and PDF copies of a manual, a Sphinx build's _sources, release notes), rather than
# the pages prepare.sh picks: how a user's `aipath kb add docs /usr/share/doc/PKG` searches.
# Usage: devsets/run_package_evals.sh [OUT] [SET ...]   (default OUT=/tmp/aipath-package-evals)
# Needs the packages prepare.sh names, plus git's own /usr/share/doc/git (RelNotes). (The
# English man pages are left out: a machine with many packages has 17,000 pages in man1.)
# Each run's printed output goes to OUT/<set>.txt and its results to OUT/<set>.jsonl; knowledge
# bases are cached under $AIPATH_EVAL_HOME (default /tmp/aipath-eval-home) like run_evals.sh's.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-/tmp/aipath-package-evals}"
sets=("${@:2}")
[ ${#sets[@]} -gt 0 ] || sets=(py-library py-tutorial debian-faq-zh debian-ref-zh debian-maint-zh debian-edu-zh git-manual
                               debian-man-zh)
home="${AIPATH_EVAL_HOME:-/tmp/aipath-eval-home}"
mkdir -p "$out/git"  # git's manual and its release notes live in two folders: link both here
ln -sfn /usr/share/doc/git-doc "$out/git/git-doc"
ln -sfn /usr/share/doc/git "$out/git/git"
for set in "${sets[@]}"; do
    case "$set" in
        py-library|py-tutorial) docs=/usr/share/doc/python3.11/html ;;
        debian-faq-zh) docs=/usr/share/doc/debian/FAQ ;;
        debian-ref-zh) docs=/usr/share/debian-reference ;;
        debian-maint-zh) docs=/usr/share/doc/maint-guide-zh-cn ;;
        debian-edu-zh) docs=/usr/share/doc/debian-edu-doc-zh-cn ;;
        git-manual) docs="$out/git" ;;
        debian-man-zh) docs=/usr/share/man/zh_CN ;;  # every Chinese page manpages-zh installs
        *) echo "no package folder for $set" >&2; exit 1 ;;
    esac
    echo "== $set over $docs ($(date -u +%H:%M:%S))"
    COLUMNS=120 "$here/../.venv/bin/aipath" eval retrieval --docs "$docs" \
        --questions "$here/$set/questions.jsonl" --out "$out/$set.jsonl" --mode hybrid \
        --home "$home" | tee "$out/$set.txt"
done
