"""Writing to a terminal: text from mail, Graph or a customer's directory made harmless (no
control, escape or direction-changing characters that could rewrite the screen), times and
tables for the command line."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def safe(text: Any, limit: int = 0) -> str:
    """Terminal-safe one-line text, shortened to ``limit`` characters when given."""
    cleaned = _CONTROL.sub(" ", str(text or "")).strip()
    if limit and len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return cleaned


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in [headers, *rows]]
    return "\n".join(lines)
