"""Training configuration: a dataclass, loaded from YAML, overridden from the command line.

Overrides are ``key=value`` strings; the value is parsed as YAML, so ``lr=3e-4`` becomes a
float and ``optimizer=adam`` a string, then checked against the field's type.

>>> apply_overrides(TrainConfig(), ["lr=0.01", "epochs=3"]).lr
0.01
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "constant"
    patience: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        assert self.epochs >= 1 and self.batch_size >= 1 and self.lr > 0
        assert self.optimizer in ("sgd", "adam", "adamw"), f"unknown optimizer {self.optimizer}"
        assert self.schedule in ("constant", "cosine"), f"unknown schedule {self.schedule}"
        assert 0 <= self.momentum < 1 and self.weight_decay >= 0 and self.patience >= 1


def _coerce(field: dataclasses.Field, value: Any) -> Any:
    kind = {"int": int, "float": float, "str": str, "bool": bool}[str(field.type)]
    if kind is float and isinstance(value, (int, str)) and not isinstance(value, bool):
        try:  # YAML 1.1 reads "3e-4" (no dot) as a string
            return float(value)
        except ValueError:
            pass
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{field.name}: expected {kind.__name__}, got {value!r}")
    return value


def from_dict(raw: dict[str, Any], cls: type = TrainConfig) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(raw) - set(fields)
    if unknown:
        raise ValueError(f"unknown config keys: {sorted(unknown)}")
    return cls(**{k: _coerce(fields[k], v) for k, v in raw.items()})


def load_config(path: Path, overrides: list[str] | None = None, cls: type = TrainConfig) -> Any:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return apply_overrides(from_dict(raw, cls), overrides or [])


def apply_overrides(config: Any, overrides: list[str]) -> Any:
    """``["lr=0.1", "optimizer=sgd"]`` on top of ``config``; a new, validated instance."""
    raw = dataclasses.asdict(config)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"override must look like key=value, got {item!r}")
        raw[key.strip()] = yaml.safe_load(value)
    return from_dict(raw, type(config))


def save_config(config: Any, path: Path) -> Path:
    path.write_text(yaml.safe_dump(dataclasses.asdict(config), sort_keys=False))
    return path
