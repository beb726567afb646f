"""Which lab module implements which day, imported lazily so ``aipath plan`` stays fast.

A lab module has ``run(out_dir, quick) -> RunResult`` and ``check(quick) -> CheckResult``.
Days without a module belong to a later part of the project; :func:`pending_reason` says
which one, rather than pretending a lab exists.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from aipath.labs.plan import day, parse_lab_id

LAB_MODULES: dict[str, str] = {
    "w1d1": "w1.d1_matmul", "w1d2": "w1.d2_svd", "w1d3": "w1.d3_probability",
    "w1d4": "w1.d4_distributions", "w1d5": "w1.d5_estimation", "w1d6": "w1.d6_regression",
    "w1d7": "w1.d7_review",
    "w2d1": "w2.d1_logistic", "w2d2": "w2.d2_trees", "w2d3": "w2.d3_svm",
    "w2d4": "w2.d4_knn_kmeans", "w2d5": "w2.d5_pca", "w2d6": "w2.d6_metrics",
    "w2d7": "w2.d7_cards",
    "w3d1": "w3.d1_activations", "w3d2": "w3.d2_backprop", "w3d3": "w3.d3_optimizers",
    "w3d4": "w3.d4_regularization", "w3d5": "w3.d5_cnn", "w3d6": "w3.d6_sequences",
    "w3d7": "w3.d7_cnn_project",
    "w4d1": "w4.d1_data", "w4d2": "w4.d2_trainer", "w4d3": "w4.d3_grid",
    "w4d4": "w4.d4_export", "w4d5": "w4.d5_logging", "w4d6": "w4.d6_config",
    "w4d7": "w4.d7_project",
}

ARRIVES_WITH: dict[int, str] = {
    5: "the hand-written Transformer in aipath.llm (attention, layers)",
    6: "the hand-written Transformer in aipath.llm (attention, training a small model)",
    7: "the LLM stack in aipath.llm (modules, mixed precision, training a small Transformer)",
    8: "the tokenizer and LoRA/QLoRA fine-tuning in aipath.llm",
    9: "document QA in aipath.rag (chunking, embeddings, FAISS/BM25 indexes)",
    10: "document QA in aipath.rag + the app (knowledge base, retriever, answer service)",
    11: "the inference engine and export in aipath.serve",
    12: "benchmarks and reports in aipath.bench",
}


def has_lab(lab_id: str) -> bool:
    day(lab_id)  # validates the id
    return lab_id.lower() in LAB_MODULES


def pending_reason(lab_id: str) -> str:
    """Why a day has no lab yet: the part of the project it arrives with."""
    w, _ = parse_lab_id(lab_id)
    return f"arrives with {ARRIVES_WITH[w]}"


def load(lab_id: str) -> ModuleType:
    """Import the lab module for ``lab_id``; LookupError (with the reason) if none yet."""
    key = lab_id.lower()
    if not has_lab(key):
        raise LookupError(f"{key}: no lab yet, {pending_reason(key)}")
    return importlib.import_module(f"aipath.labs.{LAB_MODULES[key]}")
