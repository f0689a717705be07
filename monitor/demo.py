"""`outreach-monitor demo`: the whole job in about a minute, on this machine only.

It starts the sandbox identity platform and Graph on loopback, keeps its database in a demo data
directory (emptied at each run, kept afterwards so the review log can show it), connects the
demo customer through the real device-code flow, runs the real :class:`~monitor.worker.Worker`
with a short poll interval, delivers the bundled demo mail (``monitor/demo/*.json``) a couple of
messages every few seconds to two mailboxes, shows the alerts as Slack would (the terminal sink),
and ends with what was alerted and what was not, and why. It needs no settings, no network but
loopback and no terminal, and leaves nothing running.

(``monitor/demo/`` next to this module holds the demo mail; it has no ``__init__.py``, so
``import monitor.demo`` finds this file.)
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import click
from sqlmodel import col, select

from alerts.outbox import Sink, clean, label_title
from monitor.config import SLACK_TOKEN_ENV, Settings, load_settings, secret
from monitor.db import session_scope
from monitor.errors import OutreachMonitorError
from monitor.models import Alert, Detection, Mailbox, utcnow

MARKER = ".outreach-monitor-demo"
MSP_NAME = "Northwind IT (demo)"
POLL_SECONDS = 3.0
ROUNDS = 6  # deliveries, a couple of messages each
SETTLE_SECONDS = 20.0  # at most this long past --seconds for the last mail's alerts to be shown


@dataclass
class Delivery:
    """One demo message and where it goes; filled in when it arrives."""

    file: str
    mailbox: str  # "own" (the user who signs in) or "shared"
    address: str = ""
    message: dict[str, Any] | None = None
    at: datetime | None = None


# (demo file, mailbox), in arrival order: two per round, outreach mixed with everyday mail.
SCHEDULE = [
    ("01-microsoft-copilot-workshop.json", "own"), ("07-azure-invoice.json", "shared"),
    ("06-adobe-newsletter.json", "own"), ("03-agency-for-microsoft.json", "shared"),
    ("02-dell-refresh.json", "own"), ("09-internal-lunch.json", "shared"),
    ("08-fake-password-expiry.json", "own"), ("10-competitor-msp.json", "shared"),
    ("04-meraki-trial.json", "shared"), ("11-msp-renewal.json", "own"),
    ("05-sophos-de.json", "own"), ("12-microsoft-followup.json", "own"),
]


def _load(name: str) -> dict[str, Any]:
    return json.loads((resources.files("monitor") / "demo" / name).read_text(encoding="utf-8"))


def reset_data_dir(path: Path) -> Path:
    """An empty demo data directory; refuses to empty one the demo did not make."""
    path = path.expanduser().resolve()
    if path.exists():
        if not path.is_dir() or (any(path.iterdir()) and not (path / MARKER).exists()):
            raise click.UsageError(f"{path} exists and is not a demo directory: choose another --data-dir")
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / MARKER).write_text("made by `outreach-monitor demo`; emptied at each run\n", encoding="utf-8")
    return path


def demo_settings(identity: Any, graph: Any, data_dir: Path) -> Settings:
    """Settings pointing at the sandboxes, with a poll interval of a few seconds."""
    from monitor.commands.sandbox import DEMO_MSP_DOMAIN
    from monitor.sandbox.identity import SANDBOX_CLIENT_ID

    return Settings.model_validate({
        "msp": {"name": MSP_NAME, "domains": [DEMO_MSP_DOMAIN]},
        "database": {"data_dir": str(data_dir)},
        "identity": {"authority_host": identity.authority_host, "client_id": SANDBOX_CLIENT_ID,
                     "ca_bundle": identity.ca_file},
        "graph": {"endpoint": graph.base_url},
        "worker": {"poll_interval_seconds": POLL_SECONDS, "poll_jitter_seconds": 1, "dispatch_interval_seconds": 0.5,
                   "flush_interval_seconds": 1, "lease_seconds": 30, "pool_size": 2, "batch_size": 10,
                   "stop_grace_seconds": 3},
        # Every alert on its own, so the follow-up shows as one rather than as a thread reply.
        "slack": {"group_window_seconds": 0},
    })


def _write_review_settings(settings: Settings) -> Path:
    """A settings file for `serve` over the demo's data (the sandboxes are gone by then)."""
    path = settings.data_dir / "settings.toml"
    domains = ", ".join(json.dumps(d) for d in settings.msp.domains)
    path.write_text(
        "# Written by `outreach-monitor demo`: the demo's data, for `outreach-monitor --config THIS serve`.\n"
        f"[msp]\nname = {json.dumps(settings.msp.name)}\ndomains = [{domains}]\n\n"
        f"[database]\ndata_dir = {json.dumps(str(settings.data_dir))}\n",
        encoding="utf-8",
    )
    return path


def _sink(settings: Settings, echo: Any) -> tuple[Sink, Settings]:
    """The terminal, unless a Slack token is set and the usual settings name a channel that works."""
    from alerts.console import ConsoleSink

    console = ConsoleSink(settings.web.base_url)
    if not secret(SLACK_TOKEN_ENV):
        return console, settings
    from alerts.slack import SlackSink, check

    try:
        usual = load_settings()
    except OutreachMonitorError as exc:
        echo(f"({SLACK_TOKEN_ENV} is set, but the settings cannot be read ({exc}): alerts show here instead)")
        return console, settings
    merged = settings.model_copy(update={"slack": usual.slack.model_copy(update={"group_window_seconds": 0})})
    problem = check(merged) if usual.slack.default_channel else "no [slack] default_channel"
    if problem:
        echo(f"({SLACK_TOKEN_ENV} is set, but {problem}: alerts show here instead)")
        return console, settings
    echo(f"Alerts go to Slack ({usual.slack.default_channel}) because {SLACK_TOKEN_ENV} is set.")
    return SlackSink.from_settings(merged), merged


def run_demo(*, seconds: float = 60.0, data_dir: Path = Path("var/demo"), verbose: bool = False) -> None:
    from monitor.sandbox.directory import Directory
    from monitor.sandbox.graph import GraphSandbox
    from monitor.sandbox.identity import IdentitySandbox

    echo = click.echo
    if verbose:
        logging.getLogger().setLevel(logging.INFO)
    data_dir = reset_data_dir(data_dir)
    previous = None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM ends the demo like Ctrl+C, so the sandboxes and their temporary files go too.
        previous = signal.signal(signal.SIGTERM, _interrupt)
    directory = Directory()
    identity: IdentitySandbox | None = None
    graph: GraphSandbox | None = None
    engine = None
    try:
        from monitor.commands.sandbox import DEMO_DOMAIN, DEMO_TENANT, SHARED, SIGNS_IN, seed_demo

        seed_demo(directory, None, mail=False)
        identity = IdentitySandbox(directory, auto_approve=SIGNS_IN).start()
        graph = GraphSandbox(directory).start()
        settings = demo_settings(identity, graph, data_dir)
        from monitor.db import make_engine

        engine = make_engine(settings.database_url)
        review = _write_review_settings(settings)
        echo("Outreach Monitor demo: a sandbox Microsoft 365 customer on this machine (loopback only).")
        echo(f"  identity platform {identity.authority_host}   Graph {graph.base_url}")
        echo(f"  data {data_dir}")
        echo("")
        echo(f'1. An account manager connects the customer "{DEMO_TENANT}": {SIGNS_IN} signs in once with a '
             "device code (approved at once in the sandbox) and shares the finance mailbox.")
        _connect(settings, engine, DEMO_TENANT, SHARED)
        sink, settings = _sink(settings, echo)
        echo("")
        spread = min(40.0, max(4.0, seconds * 2 / 3 - 4))
        echo(f"2. The worker (the same as `outreach-monitor run`) polls both mailboxes every {POLL_SECONDS:g} s; "
             f"mail arrives over the next {spread:.0f} s and alerts appear as they would in Slack. "
             f"The demo ends after {seconds:g} s (Ctrl+C ends it sooner).")
        from monitor.worker import Worker

        worker = Worker(settings, engine, sink=sink)
        deliveries = [Delivery(f, box, SIGNS_IN if box == "own" else SHARED) for f, box in SCHEDULE]
        done = threading.Event()
        feeder = threading.Thread(target=_deliver, args=(graph, deliveries, spread, done, echo), name="demo-mail",
                                  daemon=True)
        stopper = threading.Thread(target=_stop_when_done, args=(worker, engine, deliveries, seconds, done),
                                   name="demo-timer", daemon=True)
        feeder.start()
        stopper.start()
        try:
            worker.run()
        finally:
            done.set()
            feeder.join(5)
            stopper.join(5)
        _summary(settings, engine, deliveries, DEMO_DOMAIN, echo)
        _review_hint(review, echo)
    except KeyboardInterrupt:
        echo("\nDemo stopped.")
    finally:
        if engine is not None:
            engine.dispose()
        if graph is not None:
            graph.stop()
        if identity is not None:
            identity.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _connect(settings: Settings, engine: Any, name: str, shared: str) -> None:
    """The real `connect` command, as an account manager would run it."""
    from monitor.cli import App
    from monitor.commands.tenants import connect

    with click.Context(connect, obj=App(_settings=settings, _engine=engine)) as ctx:
        ctx.invoke(connect, new_name=name, existing=None, mailboxes=(shared,), timeout=60.0)


def _deliver(graph: Any, deliveries: list[Delivery], spread: float, done: threading.Event, echo: Any) -> None:
    """A couple of messages every few seconds, starting once the worker has had a first look."""
    start = time.monotonic() + min(3.0, spread / 4)
    per_round = -(-len(deliveries) // ROUNDS)
    for index, delivery in enumerate(deliveries):
        at = start + (index // per_round) * spread / ROUNDS
        if done.wait(max(0.0, at - time.monotonic())):
            return
        stored = graph.add_message(delivery.address, _load(delivery.file))
        delivery.message, delivery.at = stored, utcnow()
        sender = ((stored.get("from") or {}).get("emailAddress") or {}).get("address") or "?"
        subject = _cut(clean(stored.get("subject")) or "(no subject)", 60)
        echo(click.style(f"  ✉ {datetime.now():%H:%M:%S} new mail for {delivery.address} from {_cut(clean(sender), 50)}: "
                         f"“{subject}”", dim=True))


def _stop_when_done(worker: Any, engine: Any, deliveries: list[Delivery], seconds: float,
                    done: threading.Event) -> None:
    """Stops the worker after ``seconds``, or a little later while the last mail's alerts are
    still on their way (never more than SETTLE_SECONDS later)."""
    deadline = time.monotonic() + seconds
    if done.wait(seconds):
        return
    while time.monotonic() < deadline + SETTLE_SECONDS and not _settled(engine, deliveries):
        if done.wait(0.5):
            return
    worker.stop()


def _settled(engine: Any, deliveries: list[Delivery]) -> bool:
    """Every message delivered, every mailbox scanned since, nothing waiting in the outbox."""
    if any(d.at is None for d in deliveries):
        return False
    last = max(d.at for d in deliveries if d.at is not None)
    with session_scope(engine) as session:
        scans = session.exec(select(Mailbox.last_success_at).where(col(Mailbox.enabled))).all()
        waiting = session.exec(select(Alert.id).where(Alert.state == "pending")).first()
    return bool(scans) and all(s is not None and s > last for s in scans) and waiting is None


def _summary(settings: Settings, engine: Any, deliveries: list[Delivery], tenant_domain: str, echo: Any) -> None:
    from detectors.classifier import Context, classify
    from detectors.message import from_graph

    arrived = [d for d in deliveries if d.message is not None]
    with session_scope(engine) as session:
        boxes = {m.address: m for m in session.exec(select(Mailbox)).all()}
        found = {(d.mailbox_id, d.internet_message_id): d for d in session.exec(select(Detection)).all()}
        alerts = {a.detection_id: a for a in session.exec(select(Alert).where(Alert.kind == "detection")).all()}
    context = Context.build(msp_domains=settings.msp.domains, tenant_domains=[tenant_domain])
    alerted: list[str] = []
    quiet: list[str] = []
    for delivery in arrived:
        message = delivery.message or {}
        box = boxes.get(delivery.address)
        detection = found.get((box.id if box else None, str(message.get("internetMessageId") or "")))
        verdict = classify(from_graph(message), context)
        label = detection.label if detection else verdict.label
        vendor = (detection.vendor if detection else verdict.vendor) or "-"
        subject = _cut(clean(message.get("subject")) or "(no subject)", 56)
        title = "Not vendor mail" if label == "other" else label_title(label)
        line = f"  {title:<22} {_cut(clean(vendor), 12):<12} “{subject}”"
        alert = alerts.get(detection.id) if detection else None
        scanned = box is not None and box.last_success_at is not None and delivery.at is not None \
            and box.last_success_at > delivery.at
        if alert is not None and alert.state == "sent":
            alerted.append(f"{line} → {delivery.address}")
        elif alert is not None:
            quiet.append(f"{line}  alert {alert.state}: {_cut(clean(alert.last_error) or 'not delivered yet', 60)}")
        elif detection is None and not scanned:
            quiet.append(f"{line}  not scanned yet: the demo ended first")
        else:
            quiet.append(f"{line}  {_why(label, verdict, vendor)}")
    seen = sum(m.messages_seen for m in boxes.values())
    echo("")
    echo(click.style("━━ What happened " + "━" * 83, bold=True))
    echo(f"{len(arrived)} message(s) arrived in {len({d.address for d in arrived})} mailbox(es); the worker scanned "
         f"{seen} and raised {len(alerted)} alert(s).")
    if alerted:
        echo(f"Alerted ({len(alerted)}):")
        for line in alerted:
            echo(line)
    if quiet:
        echo(f"Not alerted ({len(quiet)}), and why:")
        for line in quiet:
            echo(line)


def _why(label: str, verdict: Any, vendor: str) -> str:
    rules = {hit.id for hit in verdict.rules}
    if label == "vendor_marketing":
        return f"{vendor}'s bulk marketing (a newsletter), not someone selling around you"
    if label == "vendor_service":
        return f"service mail from {vendor} (billing, notices): the customer needs it"
    if label == "competitor_outreach":
        return "another IT provider's pitch: kept in the review log, not alerted"
    if "msp_own_domain" in rules:
        return "your own mail (from your MSP's domain)"
    if "customer_own_domain" in rules:
        return "internal mail at the customer"
    if label in ("vendor_outreach", "impersonation"):
        return "judged below [detection] min_score"
    return "not vendor mail"


def _review_hint(review: Path, echo: Any) -> None:
    command = "./outreach-monitor" if Path("outreach-monitor").is_file() else "outreach-monitor"
    config = review if not review.is_relative_to(Path.cwd()) else review.relative_to(Path.cwd())
    echo("")
    echo(f"The detections stay in {review.parent} (emptied by the next demo). To browse them in the review log:")
    echo(f"  {command} --config {config} users add demo --role admin")
    echo(f"  {command} --config {config} serve        # then open http://127.0.0.1:8080/")
    echo("Next: connect a real customer with `outreach-monitor connect --name \"Customer\"` and run "
         "`outreach-monitor run` (see README).")


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"

