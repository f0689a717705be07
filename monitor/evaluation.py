"""Measure the detectors on a labelled corpus (the format of ../shared/corpus/SPEC.md):
per-label precision, recall and F1, a confusion matrix, and the misclassified messages
with the reasons the classifier gave."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from detectors.classifier import Context, classify
from detectors.verdict import LABELS, Verdict
from monitor.errors import InputError
from monitor.mailfiles import read


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    expected: str
    expected_vendor: str
    tenant: str
    note: str
    verdict: Verdict | None
    error: str = ""

    @property
    def predicted(self) -> str:
        return self.verdict.label if self.verdict else "error"


@dataclass(frozen=True, slots=True)
class LabelScore:
    label: str
    support: int
    predicted: int
    true_positives: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.support if self.support else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    cases: list[Case] = field(default_factory=list)

    def score(self, label: str) -> LabelScore:
        return LabelScore(
            label,
            support=sum(c.expected == label for c in self.cases),
            predicted=sum(c.predicted == label for c in self.cases),
            true_positives=sum(c.expected == label and c.predicted == label for c in self.cases),
        )

    @property
    def labels(self) -> list[str]:
        present = {c.expected for c in self.cases} | {c.predicted for c in self.cases}
        return [label for label in (*LABELS, "error") if label in present]

    def confusion(self) -> Counter[tuple[str, str]]:
        return Counter((c.expected, c.predicted) for c in self.cases)

    @property
    def misclassified(self) -> list[Case]:
        return [c for c in self.cases if c.expected != c.predicted]

    @property
    def accuracy(self) -> float:
        return sum(c.expected == c.predicted for c in self.cases) / len(self.cases) if self.cases else 0.0

    def vendor_accuracy(self) -> float:
        """Of the correctly labelled vendor messages, how many name the right vendor."""
        right = [c for c in self.cases if c.expected == c.predicted and c.expected_vendor]
        if not right:
            return 1.0
        return sum(c.verdict is not None and c.verdict.vendor.lower() == c.expected_vendor.lower() for c in right) / len(right)


def load_labels(corpus: Path) -> list[dict[str, str]]:
    labels = corpus / "labels.csv"
    if not labels.is_file():
        raise InputError(f"{corpus}: no labels.csv (expected the layout in corpus/SPEC.md)")
    try:
        with labels.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{labels}: cannot read: {exc}") from None
    if rows and not {"id", "label"} <= set(rows[0]):
        raise InputError(f"{labels}: needs at least the columns id,label")
    return rows


def evaluate(corpus: Path, *, msp_domains: Iterable[str] = (), allow_senders: Iterable[str] = (),
             extra_vendors: Iterable[dict] = ()) -> Report:
    report = Report()
    extra = tuple(extra_vendors)
    for row in load_labels(corpus):
        message_path = corpus / "messages" / f"{row['id']}.json"
        tenant = (row.get("tenant") or "").strip()
        context = Context.build(
            msp_domains=msp_domains, tenant_domains=[tenant] if tenant else [], allow_senders=allow_senders,
            extra_vendors=extra,
        )
        verdict, error = None, ""
        if not message_path.is_file():
            error = "message file missing"
        else:
            records = list(read(message_path))
            record = records[0]
            if record.message is None:
                error = record.error
            else:
                verdict = classify(record.message, context)
        report.cases.append(
            Case(row["id"], row["label"].strip(), (row.get("vendor") or "").strip(), tenant,
                 (row.get("note") or "").strip(), verdict, error)
        )
    return report
