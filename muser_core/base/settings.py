"""A setting: a dataclass field that carries its help text and its allowed values beside its default.

Config sections (:mod:`muser_core.config`) and the strategies
(:mod:`muser_core.strategies`) declare their fields with :func:`setting`; from
these the command line builds its flags, the pages their widgets, and
:func:`check_value` checks every value (type, finite, bounds, choices) with
one line naming the setting.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from dataclasses import MISSING, Field, dataclass, field
from typing import Any

from muser_core.base.errors import InputError


def setting(default: Any = None, help: str = "", *, flag: str | None = None, cli: bool = True,
            label: str | None = None,
            choices: Sequence[str] | Callable[[], Sequence[str]] | None = None,
            min: float | None = None, above: float | None = None, max: float | None = None,
            factory: Callable[[], Any] | None = None):
    """A dataclass field with its help text and checks.

    ``flag`` names the command-line flag (default ``--field-name``), ``label``
    a page's widget (default: the name, capitalised); ``cli=False``
    for values the run fills in itself. ``min``/``max`` are inclusive bounds,
    ``above`` an exclusive lower bound; ``choices`` a list or a function that
    returns one (for a registry filled after the field is declared).
    """
    meta = {"help": help, "flag": flag, "cli": cli, "label": label, "choices": choices, "min": min, "above": above,
            "max": max}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def copy_setting(f: Field, **changes: Any):
    """A new field like ``f`` (same default and checks), for a dataclass built from another one's fields."""
    meta = {**f.metadata, **changes}
    if f.default_factory is not MISSING:
        return field(default_factory=f.default_factory, metadata=meta)
    return field(default=f.default, metadata=meta)


def number_argument(kind: type) -> Callable[[str], Any]:
    """An argparse ``type`` for ``int`` or ``float`` that turns a bad number into one line (argparse names the flag)."""
    def parse(text: str):
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {'whole ' if kind is int else ''}number: '{text}'") from None
    parse.__name__ = kind.__name__
    return parse


KINDS = {"int": "int", "float": "float", "float | None": "optional float", "str": "str", "list[str]": "list",
         "bool": "bool"}


def kind_of(annotation: Any) -> str:
    """The kind of a field from its annotation: "int", "float", "optional float", "str", "list" or "bool".

    The annotation is a string in a module with ``from __future__ import
    annotations`` and a type in one without; both are understood.
    """
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    if text not in KINDS:
        raise TypeError(f"a setting's type must be one of {', '.join(KINDS)} (got {text})")
    return KINDS[text]


@dataclass(frozen=True)
class Setting:
    """One field of one section, as the command line and the pages see it."""

    section: str
    name: str
    default: Any
    help: str
    flag: str
    cli: bool
    kind: str      # "int", "float", "optional float", "str" or "list"
    meta: dict

    @property
    def choices(self) -> list[str] | None:
        choices = self.meta.get("choices")
        return list(choices() if callable(choices) else choices) if choices is not None else None


def describe(section: str, f: Field, default: Any) -> Setting:
    """The :class:`Setting` of one dataclass field declared with :func:`setting`."""
    flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
    return Setting(section, f.name, default, f.metadata.get("help", ""), flag, f.metadata.get("cli", True),
                   kind_of(f.type), dict(f.metadata))


def check_value(s: Setting, value: Any) -> Any:
    """The value, converted where lossless (an int for a float); InputError naming the setting otherwise."""
    where = f"setting {s.section}.{s.name} ({s.flag})"
    kind = s.kind
    if kind == "optional float" and value is None:
        return None
    if kind in ("float", "optional float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{where}: must be a number (got {value!r})")
        value = float(value)
        if not math.isfinite(value):
            raise InputError(f"{where}: must be a finite number (got {value})")
    elif kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{where}: must be a whole number (got {value!r})")
    elif kind == "str":
        if not isinstance(value, str):
            raise InputError(f"{where}: must be text (got {value!r})")
    elif kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError(f"{where}: must be a list of names (got {value!r})")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise InputError(f"{where}: must be true or false (got {value!r})")
    m = s.meta
    if m.get("min") is not None and value < m["min"]:
        raise InputError(f"{where}: must be at least {m['min']} (got {value})")
    if m.get("above") is not None and value <= m["above"]:
        raise InputError(f"{where}: must be above {m['above']} (got {value})")
    if m.get("max") is not None and value > m["max"]:
        raise InputError(f"{where}: must be at most {m['max']} (got {value})")
    choices = s.choices
    if choices is not None:
        for item in value if kind == "list" else [value]:
            if item not in choices:
                # One choice is named by its flag: --strategy magic -> "unknown strategy 'magic'".
                what = "task" if kind == "list" else s.flag.lstrip("-").replace("-", " ")
                raise InputError(f"unknown {what} '{item}' (choose {', '.join(choices)})")
    return value
