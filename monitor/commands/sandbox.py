"""`outreach-monitor sandbox`: Microsoft's identity platform and Graph, simulated on loopback.

For a first try without a Microsoft 365 tenant: the command starts both simulators, seeds a demo
customer (a user who signs in, a mailbox shared with her, one that is not, and the bundled demo
mail), prints the settings that point `connect` and the worker at them, and runs until Ctrl+C.
Nothing in it is persistent: a restart makes new keys, a new certificate and new ports.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import signal
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import click

from monitor.sandbox.directory import Directory
from monitor.sandbox.graph import GraphSandbox

DEMO_DOMAIN = "contoso-demo.com"
DEMO_TENANT = "Contoso"
DEMO_MSP_DOMAIN = "northwind-demo-it.com"  # the demo MSP's own mail (11-msp-renewal.json) is not outreach
SIGNS_IN = f"olivia.grant@{DEMO_DOMAIN}"
SHARED = f"finance@{DEMO_DOMAIN}"
NOT_SHARED = f"it@{DEMO_DOMAIN}"


@dataclass
class DemoWorld:
    directory: Directory
    signs_in: str = SIGNS_IN
    shared: list[str] = field(default_factory=lambda: [SHARED])
    not_shared: list[str] = field(default_factory=lambda: [NOT_SHARED])
    delivered: dict[str, int] = field(default_factory=dict)  # mailbox -> messages


def demo_messages() -> list[dict[str, Any]]:
    """The bundled demo mail (monitor/demo/*.json), in file order."""
    folder = resources.files("monitor") / "demo"
    if not folder.is_dir():
        return []
    entries = sorted((e for e in folder.iterdir() if e.name.endswith(".json")), key=lambda e: e.name)
    return [json.loads(e.read_text(encoding="utf-8")) for e in entries]


def seed_demo(directory: Directory, graph: GraphSandbox | None = None, *, mail: bool = True) -> DemoWorld:
    """The demo customer; with ``graph``, its mail is delivered to each message's first recipient
    that is a demo mailbox (else to the user who signs in)."""
    tenant = directory.add_tenant(DEMO_TENANT, DEMO_DOMAIN)
    directory.add_user(tenant, SIGNS_IN, "Olivia Grant")
    directory.add_user(tenant, SHARED, "Finance")
    directory.add_user(tenant, NOT_SHARED, "IT")
    directory.share(SHARED, SIGNS_IN)
    world = DemoWorld(directory)
    if graph is None or not mail:
        return world
    mailboxes = {SIGNS_IN, SHARED, NOT_SHARED}
    for message in demo_messages():
        recipients = [
            str(((r or {}).get("emailAddress") or {}).get("address") or "").lower()
            for r in [*(message.get("toRecipients") or []), *(message.get("ccRecipients") or [])]
        ]
        target = next((a for a in recipients if a in mailboxes), SIGNS_IN)
        graph.add_message(target, message)
        world.delivered[target] = world.delivered.get(target, 0) + 1
    return world


def settings_env(identity: Any, graph: GraphSandbox, data_dir: Path) -> dict[str, str]:
    """The settings (as environment variables) that point outreach-monitor at the sandbox."""
    from monitor.sandbox.identity import SANDBOX_CLIENT_ID

    return {
        "OUTREACH_MONITOR__IDENTITY__AUTHORITY_HOST": identity.authority_host,
        "OUTREACH_MONITOR__IDENTITY__CLIENT_ID": SANDBOX_CLIENT_ID,
        "OUTREACH_MONITOR__IDENTITY__CA_BUNDLE": identity.ca_file,
        "OUTREACH_MONITOR__GRAPH__ENDPOINT": graph.base_url,
        "OUTREACH_MONITOR__DATABASE__DATA_DIR": str(data_dir),
        "OUTREACH_MONITOR__MSP__DOMAINS": json.dumps([DEMO_MSP_DOMAIN]),
    }


def _settings_toml(env: dict[str, str]) -> str:
    lines = ["# Written by `outreach-monitor sandbox`: valid while that sandbox runs.\n"]
    sections: dict[str, list[str]] = {}
    for name, value in env.items():
        section, key = name.removeprefix("OUTREACH_MONITOR__").lower().split("__")
        literal = value if value.startswith("[") else json.dumps(value)
        sections.setdefault(section, []).append(f"{key} = {literal}")
    for section, entries in sections.items():
        lines.append(f"[{section}]\n" + "\n".join(entries) + "\n")
    return "\n".join(lines)


@click.command("sandbox")
@click.option("--graph-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port of the Graph sandbox (0: any free port).")
@click.option("--identity-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port of the identity sandbox (0: any free port).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var/sandbox"),
              show_default=True, help="Data directory to use with the sandbox, apart from real customers.")
@click.option("--settings-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the settings to this file, for `outreach-monitor --config FILE ...`.")
@click.option("--no-mail", is_flag=True, help="Start with empty mailboxes.")
@click.option("--for", "duration", type=click.FloatRange(min=0), hidden=True, help="Stop after SECONDS (tests).")
def sandbox(
    graph_port: int, identity_port: int, data_dir: Path, settings_out: Path | None, no_mail: bool,
    duration: float | None,
) -> None:
    """Run Microsoft identity and Graph simulators on loopback, with a demo customer, until Ctrl+C."""
    from monitor.sandbox.identity import IdentitySandbox

    directory = Directory()
    identity = IdentitySandbox(directory, port=identity_port, auto_approve=SIGNS_IN)
    graph = GraphSandbox(directory, port=graph_port)
    stop = threading.Event()
    try:
        identity.start()
        graph.start()
    except OSError as exc:
        identity.stop()
        graph.stop()
        raise click.ClickException(f"cannot start the sandbox: {exc}") from None
    try:
        world = seed_demo(directory, graph, mail=not no_mail)
        env = settings_env(identity, graph, data_dir.expanduser().resolve())
        if settings_out:
            settings_out.write_text(_settings_toml(env), encoding="utf-8")
        _explain(identity, graph, world, env, settings_out)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C is how it is meant to end
            stop.wait(duration)
    finally:
        graph.stop()
        identity.stop()
    click.echo("Sandbox stopped.")


def _explain(identity: Any, graph: GraphSandbox, world: DemoWorld, env: dict[str, str], out: Path | None) -> None:
    echo = click.echo
    echo("Outreach Monitor sandbox: the Microsoft identity platform and Graph, on loopback. Ctrl+C stops it.")
    echo(f"  identity (TLS)  {identity.authority_host}   CA certificate {identity.ca_file}")
    echo(f"  Graph           {graph.base_url}")
    echo("")
    echo(f'Demo customer "{DEMO_TENANT}" ({DEMO_DOMAIN}):')
    mail = world.delivered
    echo(f"  {world.signs_in:<32} signs in; device codes are approved for her at once ({mail.get(SIGNS_IN, 0)} messages)")
    for address in world.shared:
        echo(f"  {address:<32} shared with her ({mail.get(address, 0)} messages)")
    for address in world.not_shared:
        echo(f"  {address:<32} NOT shared with her: adding it shows the 403 a customer would get")
    echo("")
    echo("In another terminal, point outreach-monitor at the sandbox:")
    echo("")
    for name, value in env.items():
        echo(f"  export {name}={shlex.quote(value)}")
    if out:
        echo(f"\n(or use `outreach-monitor --config {shlex.quote(str(out))} ...`: the same settings are in that file)")
    echo("")
    echo("then connect the demo customer, and start the worker (see `outreach-monitor --help`):")
    echo("")
    echo(f'  outreach-monitor connect --name "{DEMO_TENANT}" --mailbox {SHARED}')
    echo("")
    root = graph.root_url
    echo("While it runs (from this machine only):")
    echo(f"  more mail:  curl -X POST -H 'Content-Type: application/json' -d @message.json "
         f"{root}/_sandbox/mailboxes/{SHARED}/messages")
    echo(f"  faults:     curl -X PUT -H 'Content-Type: application/json' -d '{{\"rate_429\": 0.1, \"latency_ms\": 200}}' "
         f"{root}/_sandbox/faults")
    echo(f"  counters:   curl {root}/_sandbox/stats")


COMMANDS = [sandbox]
