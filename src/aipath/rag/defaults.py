"""Default settings of a new knowledge base, in a module that imports nothing: the CLI
shows them in ``--help`` and must not load the chunker to do so.

Each knowledge base stores its own values when it is created, so changing a default here
never changes how an existing knowledge base is read.
"""

# Chunks are the unit BM25 scores and the answer reads; the embedder reads each chunk's
# sentence windows (``aipath.rag.windows``), so a chunk need not fit the embedding model.
# 600 tokens scored best on the development sets once windows existed (devsets/RESULTS.md):
# a longer chunk keeps an answer together with the text that leads up to it.
CHUNK_TOKENS = 600
CHUNK_OVERLAP = 32
WINDOW_TOKENS = 128  # dense window size; 64 and 192 scored lower on the Chinese sets
