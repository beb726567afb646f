"""Errors a user can act on: each message says what to do next. Kept free of heavy imports,
so the command line can catch them without loading any model."""


class KnowledgeBaseError(ValueError):
    """A user-facing problem with a knowledge base (missing, exists, bad name, …)."""


class VectorStoreError(RuntimeError):
    """The vector store (a Milvus server or Milvus Lite file) cannot be reached or opened."""
