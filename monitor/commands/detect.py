"""`classify` and `evaluate`: the detectors on files, without any mailbox or database."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from detectors.classifier import Context, classify
from monitor.cli import App, pass_app
from monitor.evaluation import Report, evaluate
from monitor.mailfiles import expand, read
from monitor.terminal import safe


def _context(app: App, tenant_domains: tuple[str, ...], msp_domains: tuple[str, ...]) -> Context:
    settings = app.settings
    return Context.build(
        msp_domains=msp_domains or settings.msp.domains,
        tenant_domains=tenant_domains,
        allow_senders=settings.detection.allow_senders,
        extra_vendors=[v.model_dump() for v in settings.vendors],
    )


@click.command("classify")
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help="text for people, jsonl for programs (one JSON object per message).")
@click.option("--tenant-domain", "tenant_domains", multiple=True, metavar="DOMAIN",
              help="The customer's domain(s); default: the recipients' domains.")
@click.option("--msp-domain", "msp_domains", multiple=True, metavar="DOMAIN",
              help="Your MSP's domain(s); default: [msp] domains in the settings.")
@pass_app
def classify_command(app: App, paths: tuple[str, ...], fmt: str, tenant_domains: tuple[str, ...],
                     msp_domains: tuple[str, ...]) -> None:
    """Classify Graph message JSON (.json) and RFC 822 (.eml) files or folders of them."""
    context = _context(app, tenant_domains, msp_domains)
    errors = total = 0
    for path in expand(paths):
        for record in read(path):
            total += 1
            where = record.path if record.index is None else f"{record.path}#{record.index}"
            if record.message is None:
                errors += 1
                if fmt == "jsonl":
                    click.echo(json.dumps({"path": record.path, "index": record.index, "id": record.raw_id,
                                           "error": record.error}, ensure_ascii=False))
                else:
                    click.echo(f"{safe(where, 300)}: error: {safe(record.error, 300)}")
                continue
            verdict = classify(record.message, context)
            if fmt == "jsonl":
                out = {"path": record.path, "index": record.index, "id": record.message.id,
                       "internet_message_id": record.message.internet_message_id, **verdict.to_dict()}
                click.echo(json.dumps(out, ensure_ascii=False))
                continue
            sender = record.message.sender_address
            vendor = f" ({verdict.vendor})" if verdict.vendor else ""
            click.echo(f"{safe(where, 300)}: {verdict.label}{vendor} score {verdict.score:.2f}")
            click.echo(f"  from {safe(sender.address if sender else '-', 120)}: {safe(record.message.subject, 120)}")
            for hit in [h for h in verdict.rules if h.weight > 0][:5]:
                click.echo(f"  +{hit.weight:g} {hit.id}: {safe(hit.evidence, 140)}")
    if errors:
        click.echo(f"{errors} of {total} could not be read; see the error records above.", err=True)


def _print_report(report: Report, show: int) -> None:
    labels = report.labels
    click.echo(f"{len(report.cases)} messages, accuracy {report.accuracy:.3f}, "
               f"vendor named right {report.vendor_accuracy():.3f}\n")
    click.echo(f"{'label':<20} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8} {'predicted':>9}")
    for label in labels:
        s = report.score(label)
        click.echo(f"{label:<20} {s.precision:>9.3f} {s.recall:>7.3f} {s.f1:>6.3f} {s.support:>8} {s.predicted:>9}")
    click.echo("\nconfusion (rows: expected, columns: predicted)")
    short = {label: label.replace("vendor_", "v_").replace("competitor_", "c_")[:11] for label in labels}
    click.echo(" " * 20 + "".join(f"{short[p]:>12}" for p in labels))
    matrix = report.confusion()
    for expected in labels:
        click.echo(f"{expected:<20}" + "".join(f"{matrix.get((expected, p), 0):>12}" for p in labels))
    wrong = report.misclassified
    if wrong:
        click.echo(f"\nmisclassified ({len(wrong)}):")
        for case in wrong[:show]:
            got = f"{case.predicted}" + (f" ({case.verdict.vendor})" if case.verdict and case.verdict.vendor else "")
            click.echo(f"- {case.id}: expected {case.expected}, got {got}  [{safe(case.note, 100)}]")
            if case.error:
                click.echo(f"    error: {safe(case.error, 160)}")
            elif case.verdict:
                for hit in [h for h in case.verdict.rules if h.weight != 0][:4]:
                    click.echo(f"    {hit.weight:+g} {hit.id}: {safe(hit.evidence, 110)}")


@click.command("evaluate")
@click.argument("corpus", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--msp-domain", "msp_domains", multiple=True, metavar="DOMAIN",
              help="Your MSP's domain(s); default: [msp] domains in the settings.")
@click.option("--min-precision", type=click.FloatRange(0, 1), help="Fail if vendor_outreach precision is lower.")
@click.option("--min-recall", type=click.FloatRange(0, 1), help="Fail if vendor_outreach recall is lower.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--show", default=50, show_default=True, help="How many misclassified messages to list.")
@pass_app
def evaluate_command(app: App, corpus: Path, msp_domains: tuple[str, ...], min_precision: float | None,
                     min_recall: float | None, fmt: str, show: int) -> None:
    """Score the detectors on a labelled corpus (labels.csv + messages/<id>.json)."""
    settings = app.settings
    report = evaluate(
        corpus,
        msp_domains=msp_domains or settings.msp.domains,
        allow_senders=settings.detection.allow_senders,
        extra_vendors=[v.model_dump() for v in settings.vendors],
    )
    outreach = report.score("vendor_outreach")
    if fmt == "json":
        click.echo(json.dumps({
            "messages": len(report.cases),
            "accuracy": report.accuracy,
            "labels": {label: {"precision": s.precision, "recall": s.recall, "f1": s.f1, "support": s.support,
                               "predicted": s.predicted} for label in report.labels for s in [report.score(label)]},
            "misclassified": [{"id": c.id, "expected": c.expected, "predicted": c.predicted,
                               "rules": [h.to_dict() for h in (c.verdict.rules if c.verdict else ())]}
                              for c in report.misclassified],
        }, indent=2, ensure_ascii=False))
    else:
        _print_report(report, show)
    failed = []
    if min_precision is not None and outreach.precision < min_precision:
        failed.append(f"vendor_outreach precision {outreach.precision:.3f} < {min_precision}")
    if min_recall is not None and outreach.recall < min_recall:
        failed.append(f"vendor_outreach recall {outreach.recall:.3f} < {min_recall}")
    if failed:
        click.echo("FAILED: " + "; ".join(failed), err=True)
        sys.exit(1)


COMMANDS = [classify_command, evaluate_command]
