#!/usr/bin/env bash
# The same documents in other formats, to check retrieval does not depend on HTML:
#   py-library-rst, py-tutorial-rst   Sphinx sources (_sources/*.rst.txt) of the same pages
#   debian-faq-zh-txt                 the FAQ as Debian ships it in text (w3m dump)
#   debian-ref-zh-txt                 Debian Reference ch. 1-6 cut from its text dump
#   debian-ref-zh-pdf                 pages of ch. 1-6 cut from its PDF, bookmarks kept
#   <set>-md for debian-faq-zh, debian-ref-zh, py-tutorial, git-manual
#                                     each HTML page as GitHub Markdown (pandoc; navigation
#                                     dropped first, as the HTML loader drops it)
#   <set>-docx for debian-faq-zh, debian-ref-zh, py-tutorial
#                                     each HTML page as a Word document, the same way
#   <set>-epub for debian-faq-zh, debian-ref-zh, py-tutorial
#                                     each HTML page as an EPUB 3 book, the same way
#   git-manual-man                    the git manual's pages as Debian's man pages (git-man):
#                                     gitfaq.7.gz for gitfaq.html, …; user-manual.html as is
#   bash-manual-info                  the Bash manual as its Info edition (bash.info.gz, from
#                                     the same Texinfo source as bashref.html)
#   The Markdown, Word and EPUB variants need pandoc (apt install pandoc).
# Each goes to <root>/<variant>/docs with the base set's questions.jsonl beside it.
# Usage: devsets/prepare_formats.sh [ROOT]   (default ROOT=/tmp/aipath-devsets)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="${1:-/tmp/aipath-devsets}"
python="$(dirname "$here")/.venv/bin/python"

for base in py-library py-tutorial; do
    dest="$root/$base-rst/docs"
    mkdir -p "$dest"
    while IFS= read -r page; do
        src="/usr/share/doc/python3.11/html/_sources/$(basename "$(dirname "$page")")/$(basename "$page" .html).rst.txt"
        cmp -s "$src" "$dest/$(basename "$src")" || cp -p "$src" "$dest/"
    done < "$here/$base/files.txt"
    cp "$here/$base/questions.jsonl" "$root/$base-rst/"
done

mkdir -p "$root/debian-faq-zh-txt/docs" "$root/debian-ref-zh-txt/docs" "$root/debian-ref-zh-pdf/docs"
faq="$root/debian-faq-zh-txt/docs/debian-faq.zh-cn.txt"  # written once: mtimes key the eval cache
[ -f "$faq" ] || zcat /usr/share/doc/debian/FAQ/debian-faq.zh-cn.txt.gz > "$faq"
cp "$here/debian-faq-zh/questions.jsonl" "$root/debian-faq-zh-txt/"
for fmt in txt pdf; do cp "$here/debian-ref-zh/questions.jsonl" "$root/debian-ref-zh-$fmt/"; done

[ -f "$root/debian-ref-zh-pdf/docs/debian-reference-ch1-6.zh-cn.pdf" ] || "$python" - "$root" <<'EOF'
import gzip, re, sys
from pypdf import PdfWriter

root = sys.argv[1]
lines = gzip.open("/usr/share/debian-reference/debian-reference.zh-cn.txt.gz", "rt").read().split("\n")
chapter = {int(m.group(1)): i for i, line in enumerate(lines) if (m := re.match(r"^第\s*(\d+)\s*章", line))}
with open(f"{root}/debian-ref-zh-txt/docs/debian-reference-ch1-6.zh-cn.txt", "w") as out:
    out.write("\n".join(lines[chapter[1]:chapter[7]]) + "\n")
writer = PdfWriter()  # PDF pages 29-140 hold chapters 1-6
writer.append("/usr/share/debian-reference/debian-reference.zh-cn.pdf", pages=(28, 140), import_outline=True)
writer.write(f"{root}/debian-ref-zh-pdf/docs/debian-reference-ch1-6.zh-cn.pdf")
EOF
mkdir -p "$root/git-manual-man/docs" "$root/bash-manual-info/docs"
while IFS= read -r page; do
    name="$(basename "$page" .html)"
    man="$(ls /usr/share/man/man[1-7]/"$name".[1-7].gz 2>/dev/null | head -1 || true)"
    src="${man:-$page}"  # a page with no man page (user-manual.html) stays HTML
    cmp -s "$src" "$root/git-manual-man/docs/$(basename "$src")" || cp -p "$src" "$root/git-manual-man/docs/"
done < "$here/git-manual/files.txt"
cmp -s /usr/share/info/bash.info.gz "$root/bash-manual-info/docs/bash.info.gz" ||
    cp -p /usr/share/info/bash.info.gz "$root/bash-manual-info/docs/"
cp "$here/git-manual/questions.jsonl" "$root/git-manual-man/"
cp "$here/bash-manual/questions.jsonl" "$root/bash-manual-info/"

convert() {  # convert BASE FORMAT: every HTML page of BASE to FORMAT with pandoc
    local base=$1 format=$2 suffix=${2%%-*}
    [ -d "$root/$base/docs" ] || "$here/prepare.sh" "$root" "$base" >/dev/null
    suffix=${suffix/gfm/md}
    suffix=${suffix/epub3/epub}
    mkdir -p "$root/$base-$suffix/docs"
    cp "$here/$base/questions.jsonl" "$root/$base-$suffix/"
    "$python" - "$root/$base/docs" "$root/$base-$suffix/docs" "$format" "$suffix" <<'EOF'
import subprocess, sys
from pathlib import Path
from bs4 import BeautifulSoup
from aipath.rag.html_loader import NOISE_SELECTORS, NOISE_TAGS

src, dst, fmt, suffix = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
for page in sorted(src.glob("*.html")):
    out = dst / f"{page.stem}.{suffix}"
    if out.exists():  # written once: mtimes key the eval cache
        continue
    soup = BeautifulSoup(page.read_text(errors="replace"), "html.parser")
    for tag in soup(NOISE_TAGS) + [t for s in NOISE_SELECTORS for t in soup.select(s)]:
        tag.decompose()
    subprocess.run(["pandoc", "--quiet", "-f", "html-native_divs-native_spans", "-t", fmt, "-o", str(out)],
                   input=str(soup), text=True, check=True)
EOF
}

if command -v pandoc >/dev/null; then
    for base in debian-faq-zh debian-ref-zh py-tutorial git-manual; do convert "$base" gfm-raw_html; done
    for base in debian-faq-zh debian-ref-zh py-tutorial; do convert "$base" docx; done
    for base in debian-faq-zh debian-ref-zh py-tutorial; do convert "$base" epub3; done
else
    echo "pandoc not found: Markdown, Word and EPUB variants skipped (apt install pandoc)" >&2
fi
echo "format variants written under $root"
