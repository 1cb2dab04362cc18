"""Numbers in sentences a person reads: "1 sentence", "2 sentences" (never "1 sentences")."""

from __future__ import annotations


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``n`` and the noun, singular for one: ``plural(1, "sentence")`` -> "1 sentence"; thousands separated."""
    return f"{n:,} {noun if n == 1 else nouns or noun + 's'}"
