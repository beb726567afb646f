"""Chat templates: turn ``[{"role": ..., "content": ...}]`` into the prompt text a model was trained on.

Every chat model ships its own Jinja template (GGUF ``tokenizer.chat_template``,
``tokenizer_config.json``). We render it the way ``transformers`` does: a sandboxed
environment with ``trim_blocks``/``lstrip_blocks``, plus the helpers templates expect
(``raise_exception``, a ``tojson`` that does not HTML-escape, ``strftime_now``).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment


def _raise(message: str) -> None:
    raise TemplateError(message)


def _tojson(x: Any, ensure_ascii: bool = False, indent: int | None = None, separators: Any = None, sort_keys: bool = False) -> str:
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


@lru_cache(maxsize=16)
def _compile(template: str):  # noqa: ANN202 - jinja2.Template
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(template)


def render_chat(template: str, messages: list[dict], add_generation_prompt: bool = True, **extra: Any) -> str:
    """The prompt text for ``messages``; ``extra`` carries ``bos_token``, ``eos_token``, tools, etc."""
    for m in messages:
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise ValueError(f"each message needs 'role' and 'content', got {m!r}")
    return _compile(template).render(messages=messages, add_generation_prompt=add_generation_prompt, **extra)
