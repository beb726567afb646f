"""Knowledge bases: add, dedup, delete, atomicity under failure, concurrent writers,
re-embedding with another dimension, remote embedders and reranker over HTTP."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from aipath.rag import bm25_index, store
from aipath.rag.ingest import SourceFile, add_documents, reembed, remove_document, remove_missing
from aipath.rag.kb import KnowledgeBase, KnowledgeBaseError, Settings, list_knowledge_bases
from aipath.rag.rerank import TEIReranker
from aipath.rag.retriever import SearchConfig, search

from .tei_stub import TEIStub


@pytest.fixture()
def tei():
    stub = TEIStub(dim=8)
    yield stub
    stub.close()


def _files(folder: Path) -> list[SourceFile]:
    return [SourceFile.from_path(p, folder) for p in sorted(folder.iterdir())]


def stored_vector_ids(kb: KnowledgeBase) -> set[int]:
    """The chunk ids the vector store holds vectors for, read from the store itself."""
    dense, _ = kb.indexes()
    if kb.meta["vector_store"] == "faiss":
        return set(dense.ids().tolist())
    rows = dense.client.query(dense.collection, filter="", output_fields=["chunk_id"], limit=16_384)
    return {row["chunk_id"] for row in rows}


def _snapshot(kb: KnowledgeBase) -> tuple:
    docs = [(d.name, d.sha256, d.n_chunks) for d in kb.documents()]
    hits = [(h.chunk.id, round(h.score, 6)) for h in search(kb, "vector database", SearchConfig(top_k=10)).hits]
    return docs, hits, kb.meta["generation"]


def test_add_dedup_search_remove(home: Path, corpus: Path, vector_store: dict[str, str]) -> None:
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm", **vector_store))
    report = add_documents(kb, _files(corpus))
    assert sorted(n for n, _, _ in report.added) == sorted(p.name for p in corpus.iterdir())
    assert not report.failed and not report.duplicates
    again = add_documents(kb, _files(corpus))
    assert not again.added and len(again.duplicates) == 4  # same content: nothing changes
    assert list_knowledge_bases(home) == ["t"]
    top = search(kb, "Which parameters does BM25 use?", SearchConfig(top_k=3)).hits[0]
    assert top.chunk.source == "bm25.txt" and top.bm25 > 0 and top.dense > 0
    zh = search(kb, "开源的分布式向量数据库是哪个", SearchConfig(mode="bm25", top_k=3)).hits
    assert zh[0].chunk.source == "milvus.txt" and zh[0].score > 0
    removed = remove_document(kb, "bm25.txt")
    assert removed.name == "bm25.txt"
    hits = search(kb, "BM25 parameters k1", SearchConfig(top_k=10)).hits
    assert all(h.chunk.source != "bm25.txt" for h in hits)
    with pytest.raises(KnowledgeBaseError, match="no document"):
        remove_document(kb, "bm25.txt")


def test_a_file_edited_since_it_was_added_replaces_its_old_version(home: Path, tmp_path: Path, vector_store: dict[str,
        str]) -> None:
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm", **vector_store))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "server.md").write_text("The server listens on port 8080 by default.")
    (docs / "other.md").write_text("Backups run every night at two o'clock.")
    first = add_documents(kb, _files(docs))
    (docs / "server.md").write_text("Since version 2 the server listens on port 9090.")
    report = add_documents(kb, _files(docs))
    assert [n for n, _, _ in report.updated] == ["server.md"] and not report.added
    assert report.updated[0][1] not in {i for _, i, _ in first.added}  # ids are never reused
    assert [n for n, _ in report.duplicates] == ["other.md"]  # unchanged: left as it was
    assert sorted(d.name for d in kb.documents()) == ["other.md", "server.md"]
    texts = [row[0] for row in kb.db.execute("SELECT text FROM documents")]
    assert not any("8080" in text for text in texts) and any("9090" in text for text in texts)
    port = search(kb, "which port does the server listen on", SearchConfig(top_k=5)).hits
    assert "9090" in port[0].chunk.text and all("8080" not in h.chunk.text for h in port)
    chunk_ids = {row[0] for row in kb.db.execute("SELECT id FROM chunks")}
    assert stored_vector_ids(kb) == chunk_ids  # the old version's vectors went too
    # An upload is not a version of anything: a second "server.md" is a second document.
    upload = SourceFile("server.md", b"Port 7070 on the staging server.", "upload:server.md")
    add_documents(kb, [upload])
    add_documents(kb, [SourceFile("server.md", b"Port 6060 elsewhere.", "upload:server.md")])
    assert [d.name for d in kb.documents()].count("server.md") == 3


def test_a_file_read_by_older_loaders_is_read_again_when_added_again(
        home: Path, corpus: Path, monkeypatch) -> None:
    from aipath.rag import ingest

    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm"))
    add_documents(kb, _files(corpus))
    upload = SourceFile("upload.md", b"An uploaded note.", "upload:upload.md")
    add_documents(kb, [upload])
    assert not add_documents(kb, _files(corpus)).updated  # same code, same content: duplicates
    # A knowledge base from before documents recorded their parser and fingerprint: the
    # columns appear, empty.
    kb.db.execute("ALTER TABLE documents DROP COLUMN parser")
    kb.db.execute("ALTER TABLE documents DROP COLUMN prints")
    kb.close()
    kb = KnowledgeBase(home, "t")
    assert {d.parser for d in kb.documents()} == {""}
    assert {blob for _, _, blob in store.document_prints(kb.db)} == {None}
    monkeypatch.setattr(ingest, "parser_version", lambda: "newer")
    report = add_documents(kb, _files(corpus) + [upload])
    assert sorted(n for n, _, _ in report.updated) == sorted(p.name for p in corpus.iterdir())
    assert [n for n, _ in report.duplicates] == ["upload.md"]  # uploads have no file to re-read
    assert {d.name: d.parser for d in kb.documents()}["bm25.txt"] == "newer"
    assert len(kb.documents()) == len(list(corpus.iterdir())) + 1
    chunk_ids = {row[0] for row in kb.db.execute("SELECT id FROM chunks")}
    assert set(kb.indexes()[0].ids().tolist()) == chunk_ids


def test_sync_removes_documents_whose_files_are_gone_and_nothing_else(home: Path, tmp_path: Path) -> None:
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm"))
    docs, elsewhere = tmp_path / "docs", tmp_path / "elsewhere"
    for folder, names in ((docs, ["keep.md", "drop.md"]), (elsewhere, ["other.md"])):
        folder.mkdir()
        for doc_name in names:
            (folder / doc_name).write_text(f"The note called {doc_name} describes one topic.")
    add_documents(kb, _files(docs) + _files(elsewhere))
    add_documents(kb, [SourceFile("upload.md", b"An uploaded note.", "upload:upload.md")])
    (docs / "drop.md").unlink()
    (elsewhere / "other.md").unlink()  # gone too, but not under the folder being synced
    generation = kb.meta["generation"]
    assert [d.name for d in remove_missing(kb, [docs])] == ["drop.md"]
    assert sorted(d.name for d in kb.documents()) == ["keep.md", "other.md", "upload.md"]
    chunk_ids = {row[0] for row in kb.db.execute("SELECT id FROM chunks")}
    assert set(kb.indexes()[0].ids().tolist()) == chunk_ids
    assert remove_missing(kb, [docs]) == [] and kb.meta["generation"] == generation + 1


def test_english_only_embedder_warns_about_chinese_documents(home: Path, tmp_path: Path) -> None:
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm"))
    (tmp_path / "en.txt").write_text("BM25 ranks documents by term frequency and rarity.")
    assert add_documents(kb, [SourceFile.from_path(tmp_path / "en.txt")]).warnings == []
    (tmp_path / "zh.txt").write_text("向量数据库用于存储和检索嵌入向量，常见的有 Milvus 和 FAISS。")
    report = add_documents(kb, [SourceFile.from_path(tmp_path / "zh.txt")])
    assert [n for n, _, _ in report.added] == ["zh.txt"]  # added anyway: BM25 still finds it
    assert len(report.warnings) == 1 and "aipath kb reembed t e5" in report.warnings[0]


def test_a_chinese_question_to_an_english_only_embedder_says_how_to_fix_it(home: Path, corpus: Path) -> None:
    from aipath.rag.retriever import SearchConfig, search

    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm"))
    add_documents(kb, [SourceFile.from_path(p, corpus) for p in corpus.iterdir()])
    assert search(kb, "What values do k1 and b take in BM25?").warnings == []
    [warning] = search(kb, "BM25 的 k1 和 b 通常取什么值？").warnings
    assert "reads English only" in warning and "aipath kb reembed t e5" in warning
    assert search(kb, "BM25 的 k1 和 b 通常取什么值？", SearchConfig(mode="bm25")).warnings == []  # no embedder


def test_failure_during_commit_leaves_kb_unchanged(home: Path, corpus: Path, monkeypatch, vector_store: dict[str,
        str]) -> None:
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm", **vector_store))
    first, rest = _files(corpus)[:2], _files(corpus)[2:]
    add_documents(kb, first)
    before = _snapshot(kb)

    def crash(self, folder):
        raise OSError("disk full")

    monkeypatch.setattr(bm25_index.BM25Index, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        add_documents(kb, rest)
    monkeypatch.undo()
    assert _snapshot(kb) == before
    reopened = KnowledgeBase(home, "t")
    assert _snapshot(reopened) == before
    # The next change succeeds over the debris of the failed one.
    assert len(add_documents(reopened, rest).added) == 2


def test_bad_file_in_batch(home: Path, corpus: Path) -> None:
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm"))
    bad = SourceFile("broken.pdf", b"%PDF-1.7 not really")
    strict = add_documents(kb, _files(corpus) + [bad], strict=True)
    assert strict.failed and not strict.added and kb.documents() == []
    lenient = add_documents(kb, _files(corpus) + [bad])
    assert len(lenient.added) == 4 and lenient.failed[0][0] == "broken.pdf"


def test_concurrent_writers_lose_nothing(home: Path, vector_store: dict[str, str]) -> None:
    KnowledgeBase.create(home, "t", Settings(embedder="minilm", **vector_store)).close()
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            kb = KnowledgeBase(home, "t")
            add_documents(kb, [SourceFile(f"doc{i}.txt", f"Document number {i} about topic {i}.".encode())])
            kb.close()
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    kb = KnowledgeBase(home, "t")
    assert sorted(d.name for d in kb.documents()) == [f"doc{i}.txt" for i in range(6)]
    dense, bm25 = kb.indexes()
    assert len(dense) == len(bm25) == kb.chunk_count() == 6


def test_a_file_another_writer_stored_meanwhile_is_a_duplicate_not_an_error(
        home: Path, monkeypatch) -> None:
    """Two clients add the same file: the second one's parse and embedding happen before
    the first commits, so its duplicate check must be repeated under the write lock."""
    from aipath.rag import ingest

    KnowledgeBase.create(home, "t", Settings(embedder="minilm")).close()
    same = SourceFile("guide.md", b"Restart the service after changing its configuration.")
    other = SourceFile("other.md", b"Logs rotate every week.")
    embed = ingest._embed_windows

    def embed_while_another_client_commits(*args, **kwargs):
        monkeypatch.setattr(ingest, "_embed_windows", embed)
        rival = KnowledgeBase(home, "t")
        assert [n for n, _, _ in add_documents(rival, [same]).added] == ["guide.md"]
        rival.close()
        return embed(*args, **kwargs)

    monkeypatch.setattr(ingest, "_embed_windows", embed_while_another_client_commits)
    kb = KnowledgeBase(home, "t")
    report = add_documents(kb, [same, other])
    assert [n for n, _ in report.duplicates] == ["guide.md"]
    assert [n for n, _, _ in report.added] == ["other.md"]
    assert sorted(d.name for d in kb.documents()) == ["guide.md", "other.md"]
    dense, bm25 = kb.indexes()
    assert len(dense) == len(bm25) == kb.chunk_count() == 2  # the skipped file's vectors too


def test_reembed_changes_dimension_without_crashing(home: Path, corpus: Path, tei: TEIStub, vector_store: dict[str,
        str]) -> None:
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm", **vector_store))
    add_documents(kb, _files(corpus))
    assert kb.meta["dim"] == 384
    assert reembed(kb, f"tei:{tei.url}") == kb.chunk_count()
    assert kb.meta["dim"] == 8 and kb.meta["embedder"] == f"tei:{tei.url}"
    hits = search(kb, "FAISS similarity search", SearchConfig(mode="dense", top_k=2)).hits
    assert len(hits) == 2
    assert any(path == "/embed" for path, _ in tei.requests)
    # New documents are embedded by the new model too.
    add_documents(kb, [SourceFile("new.txt", b"A new document about similarity search.")])
    dense, _ = kb.indexes()
    assert len(dense) == kb.chunk_count()


def test_reembed_refuses_when_another_writer_committed_meanwhile(home: Path, corpus: Path, tei: TEIStub) -> None:
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm"))
    files = _files(corpus)
    add_documents(kb, files)
    last = kb.documents()[-1]
    other = KnowledgeBase(home, "t")

    def swap_last_document(stage: str, done: int, total: int) -> None:
        # SQLite may hand the freed chunk ids to the new rows, so only the generation tells.
        if stage == "embed" and done == total:
            remove_document(other, last.name)
            add_documents(other, [SourceFile("swapped.txt", b"Completely different text about tokenizers.")])

    with pytest.raises(KnowledgeBaseError, match="changed while re-embedding"):
        reembed(kb, f"tei:{tei.url}", progress=swap_last_document)
    assert kb.meta["embedder"] == "minilm" and kb.meta["dim"] == 384
    dense, bm25 = kb.indexes()
    assert len(dense) == len(bm25) == kb.chunk_count()
    assert "swapped.txt" in [d.name for d in kb.documents()]


def test_remote_dimension_change_is_a_clear_error(home: Path, corpus: Path, tei: TEIStub) -> None:
    kb = KnowledgeBase.create(home, "t", Settings(embedder=f"tei:{tei.url}"))
    add_documents(kb, _files(corpus)[:1])
    docs = kb.documents()
    tei.dim = 16  # the server was redeployed with another model
    from aipath.rag.embeddings import get_embedder

    get_embedder.cache_clear()
    with pytest.raises(KnowledgeBaseError, match="reembed"):
        add_documents(kb, _files(corpus)[1:])
    with pytest.raises(KnowledgeBaseError, match="reembed"):
        search(kb, "vector search")
    assert kb.documents() == docs
    assert search(kb, "BM25 parameters", SearchConfig(mode="bm25")).hits
    assert reembed(kb, f"tei:{tei.url}") == kb.chunk_count()
    assert len(add_documents(kb, _files(corpus)[1:]).added) == 3


def test_openai_embeddings_client_orders_rows(tei: TEIStub) -> None:
    from aipath.rag.embeddings import RemoteEmbedder

    embedder = RemoteEmbedder(tei.url, "openai", model="m")
    got = embedder.embed(["alpha text", "beta words", "gamma"])
    tei_embedder = RemoteEmbedder(tei.url, "tei")
    np.testing.assert_allclose(got, tei_embedder.embed(["alpha text", "beta words", "gamma"]), atol=1e-6)


def test_tei_reranker_reorders_hits(home: Path, corpus: Path, tei: TEIStub) -> None:
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm"))
    add_documents(kb, _files(corpus))
    result = search(kb, "merged base weight", SearchConfig(top_k=3), TEIReranker(tei.url))
    assert "rerank" in result.timings
    scores = [h.rerank for h in result.hits]
    assert scores == sorted(scores, reverse=True)


def test_names_are_validated(home: Path) -> None:
    for bad in ["../evil", "a/b", ".hidden", "", "x" * 80]:
        with pytest.raises(KnowledgeBaseError, match="invalid"):
            KnowledgeBase.create(home, bad)
    KnowledgeBase.create(home, "知识库_1").close()
    with pytest.raises(KnowledgeBaseError, match="already exists"):
        KnowledgeBase.create(home, "知识库_1")
    with pytest.raises(KnowledgeBaseError, match="does not exist"):
        KnowledgeBase(home, "missing")


def test_every_loader_is_part_of_the_parser_version() -> None:
    """A loader left out of ``PARSER_MODULES`` would change how files read without stored
    documents ever being read again."""
    from aipath.rag import ingest

    folder = Path(ingest.__file__).parent
    loaders = {p.stem for p in folder.glob("*_loader.py")} | {"loaders", "chunking"}
    assert loaders <= set(ingest.PARSER_MODULES)


def test_keyword_search_steps_back_when_its_best_match_holds_little_of_the_question(
        home: Path, corpus: Path) -> None:
    kb = KnowledgeBase.create(home, "w")
    add_documents(kb, _files(corpus))
    full = search(kb, "BM25 parameters k1 and b", SearchConfig(top_k=3))
    assert full.coverage == pytest.approx(1.0) and full.bm25_weight == 0.5
    assert full.hits[0].chunk.source == "bm25.txt"
    loose = search(kb, "which software quickly finds the nearest neighbours of my vectors",
                   SearchConfig(top_k=3))
    assert 0 < loose.coverage < 0.5
    assert loose.bm25_weight == pytest.approx(0.5 * loose.coverage / 0.5)
    off = search(kb, "which software quickly finds the nearest neighbours of my vectors",
                 SearchConfig(top_k=3, full_coverage=0.0))
    assert off.bm25_weight == 0.5
    dense = search(kb, "BM25 parameters", SearchConfig(mode="dense", top_k=3))
    assert dense.bm25_weight is None and dense.coverage is None


def _manual_chapter(seed: int) -> str:
    """About 250 words of prose of its own: enough shingles to judge, none shared by chance."""
    rng = np.random.default_rng(seed)
    words = ("package archive mirror kernel release stable testing security update install remove "
             "configure service network user group file system boot loader partition shell script "
             "editor compiler library module driver printer sound display keyboard locale").split()
    sentences = [" ".join(rng.choice(words, size=12)).capitalize() + "." for _ in range(20)]
    return " ".join(sentences)


def test_a_manual_in_three_formats_is_stored_once_from_its_html(home: Path, tmp_path: Path) -> None:
    """Debian ships its FAQ as HTML chapters, one .txt and a PDF: the .txt and the PDF are
    copies of the chapters together, and are left out (reported); a page of the same format
    that repeats most of a chapter is still a page of its own."""
    from fpdf import FPDF

    one, two = _manual_chapter(1), _manual_chapter(2)
    folder = tmp_path / "faq"
    (folder / "html").mkdir(parents=True)
    (folder / "html" / "ch1.html").write_text(f"<h1>Basics</h1><p>{one}</p>")
    (folder / "html" / "ch2.html").write_text(f"<h1>Packages</h1><p>{two}</p>")
    (folder / "html" / "quick.html").write_text(f"<h1>Quick start</h1><p>{one} Then reboot.</p>")
    (folder / "faq.txt").write_text(f"Basics\n======\n\n{one}\n\nPackages\n========\n\n{two}\n")
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for text in (one, two):
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    (folder / "faq.pdf").write_bytes(bytes(pdf.output()))
    files = [SourceFile.from_path(p, folder) for p in sorted(folder.rglob("*.*"))]

    kb = KnowledgeBase.create(home, "faq", Settings(embedder="minilm"))
    report = add_documents(kb, files)
    assert sorted(n for n, _, _ in report.added) == ["html/ch1.html", "html/ch2.html", "html/quick.html"]
    assert sorted((name, share >= 0.9) for name, _, share in report.copies) == [("faq.pdf", True), ("faq.txt", True)]
    assert {original for _, original, _ in report.copies} <= {"html/ch1.html", "html/ch2.html"}
    assert not report.failed and not report.skipped

    # a copy added later is found against what is stored; the better format added after a
    # worse one is added (it is never a copy of a format with less structure)
    assert [c[0] for c in add_documents(kb, [SourceFile("again.txt", (one + " " + two).encode())]).copies] == ["again.txt"]
    txt_first = KnowledgeBase.create(home, "txt-first", Settings(embedder="minilm"))
    add_documents(txt_first, [f for f in files if f.name == "faq.txt"])
    later = add_documents(txt_first, [f for f in files if f.name.startswith("html/ch")])
    assert len(later.added) == 2 and not later.copies

    everything = KnowledgeBase.create(home, "all", Settings(embedder="minilm"))
    assert len(add_documents(everything, files, keep_copies=True).added) == 5


def test_stored_fingerprints_are_used_and_an_old_knowledge_base_gets_them(
        home: Path, monkeypatch) -> None:
    """Each document keeps its fingerprint, so a later add fingerprints only the new files; a
    knowledge base from before that fills its documents' in on the next add, and finds the
    same copies either way."""
    from aipath.rag import ingest
    from aipath.rag.copies import fingerprint, pack

    chapters = [_manual_chapter(10 + i) for i in range(3)]
    kb = KnowledgeBase.create(home, "m", Settings(embedder="minilm"))
    add_documents(kb, [SourceFile(f"ch{i}.html", f"<h1>Chapter {i}</h1><p>{c}</p>".encode())
                       for i, c in enumerate(chapters)])
    rows = kb.db.execute("SELECT text, prints FROM documents").fetchall()
    assert len(rows) == 3 and all(blob == pack(fingerprint(text)) for text, blob in rows)

    read: list[str] = []
    monkeypatch.setattr(ingest, "fingerprint", lambda text: read.append(text) or fingerprint(text))
    report = add_documents(kb, [SourceFile("all.txt", " ".join(chapters).encode())])
    assert [c[0] for c in report.copies] == ["all.txt"] and len(read) == 1  # the new file alone

    kb.db.execute("UPDATE documents SET prints = NULL")  # as stored before 2026-12-08
    read.clear()
    report = add_documents(kb, [SourceFile("again.txt", " ".join(chapters[:2]).encode())])
    assert [c[0] for c in report.copies] == ["again.txt"] and len(read) == 4
    assert all(blob is not None for _, _, blob in store.document_prints(kb.db))
    read.clear()
    add_documents(kb, [SourceFile("new.html", f"<h1>New</h1><p>{_manual_chapter(20)}</p>".encode())])
    assert len(read) == 1


def test_a_passage_in_two_releases_of_a_manual_is_one_hit(home: Path) -> None:
    """Debian Edu ships its bookworm and bullseye manuals side by side; both are kept (one
    format), but a question's hits show each passage once, from the better-ranked release."""
    chapter, other = _manual_chapter(4), _manual_chapter(5)
    kb = KnowledgeBase.create(home, "edu", Settings(embedder="minilm"))
    report = add_documents(kb, [SourceFile("bookworm.html", f"<h1>Bookworm</h1><p>{chapter}</p>".encode()),
                                SourceFile("bullseye.html", f"<h1>Bullseye</h1><p>{chapter} Old.</p>".encode()),
                                SourceFile("other.html", f"<h1>Other</h1><p>{other}</p>".encode())])
    assert len(report.added) == 3
    question = " ".join(chapter.split()[:12])
    shown = search(kb, question, SearchConfig(top_k=2)).hits
    assert [h.chunk.source for h in shown][1] == "other.html"
    every = search(kb, question, SearchConfig(top_k=2, copy_share=1.0)).hits
    assert {h.chunk.source for h in every} == {"bookworm.html", "bullseye.html"}


def test_release_notes_step_back_unless_the_question_asks_what_changed(home: Path) -> None:
    """Release notes mention every feature in a line and match a how-to question's words as
    well as the manual; they keep their place for a question about changes or versions."""
    kb = KnowledgeBase.create(home, "git", Settings(embedder="minilm"))
    add_documents(kb, [
        SourceFile("git-switch.html", b"<h1>git-switch</h1><p>The -c option of git switch makes a "
                                      b"branch named NAME and checks it out at once.</p>"),
        SourceFile("RelNotes/2.23.0.txt", b"Git 2.23 Release Notes\n\n * git switch: create a branch and "
                                          b"switch to it in one command with -c.\n")])
    question = "create a branch and switch to it in one command"
    as_fused = search(kb, question, SearchConfig(top_k=2, release_notes_step=0.0)).hits
    assert as_fused[0].chunk.source == "RelNotes/2.23.0.txt"  # the notes repeat the question's words
    assert search(kb, question, SearchConfig(top_k=2)).hits[0].chunk.source == "git-switch.html"
    changes = "which version added creating a branch and switching to it in one command?"
    assert search(kb, changes, SearchConfig(top_k=2)).hits[0].chunk.source == "RelNotes/2.23.0.txt"


def test_kb_add_reports_a_copy_and_keep_copies_adds_it(home: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aipath.cli import app

    from .conftest import kb_create_and_add

    chapter = _manual_chapter(6)
    (tmp_path / "faq").mkdir()
    (tmp_path / "faq" / "faq.html").write_text(f"<h1>FAQ</h1><p>{chapter}</p>")
    (tmp_path / "faq" / "faq.txt").write_text(f"FAQ\n\n{chapter}\n")
    code, output = kb_create_and_add(home, "faq", tmp_path / "faq")
    assert code == 0 and "1 added" in output and "1 copy," in output, output
    assert "copy faq.txt (100% of its text is in 'faq.html' and the documents beside it; --keep-copies" in output
    result = CliRunner().invoke(app, ["kb", "add", "faq", str(tmp_path / "faq"), "--keep-copies", "--home", str(home)])
    assert result.exit_code == 0 and "1 added" in " ".join(result.output.split())  # the .txt; the .html is stored


@pytest.mark.slow
def test_reembed_with_mpnet(home: Path, corpus: Path) -> None:
    """MiniLM (384 dimensions) to all-mpnet-base-v2 (768): every chunk gets a new vector and
    a paraphrase finds its passage by meaning alone."""
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm-int8"))
    add_documents(kb, _files(corpus))
    assert reembed(kb, "mpnet") == kb.chunk_count()
    assert (kb.meta["embedder_name"], kb.meta["dim"]) == ("all-mpnet-base-v2", 768)
    hits = search(kb, "Which method fine-tunes a small low-rank matrix while the model stays frozen?",
                  SearchConfig(mode="dense", top_k=1)).hits
    assert hits[0].chunk.source.endswith("lora.html")
    assert stored_vector_ids(kb) == {row[0] for row in kb.db.execute("SELECT id FROM chunks")}
