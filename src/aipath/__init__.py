"""aipath: the AI-engineer learning path as working software."""

__version__ = "0.1.0"
