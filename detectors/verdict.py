"""What the detectors return: the verdict and the rule hits that explain it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LABELS = (
    "vendor_outreach",
    "vendor_marketing",
    "vendor_service",
    "impersonation",
    "competitor_outreach",
    "other",
)


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One rule that fired: which, why it matters, how much, and what it found."""

    id: str
    description: str
    weight: float
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "description": self.description,
            "weight": self.weight,
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    label: str
    vendor: str
    score: float  # 0..1: how sure the classifier is of `label`
    rules: tuple[RuleHit, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "vendor": self.vendor,
            "score": round(self.score, 3),
            "rules": [hit.to_dict() for hit in self.rules],
        }


def few(items: list[str], n: int = 4) -> str:
    """The first `n` items of a rule's evidence, as one line."""
    return " · ".join(items[:n])
