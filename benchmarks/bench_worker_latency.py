"""Alert latency through the real worker process: a message landing in a sandbox mailbox to its
alert arriving in (fake) Slack.

    .venv/bin/python benchmarks/bench_worker_latency.py [--mailboxes 500] [--tenants 20] [--poll 60]
                                                         [--minutes 4] [--every 2]

World: TENANTS customers connected with the real `outreach-monitor connect` (device code through the
identity sandbox, shared mailboxes probed), MAILBOXES in all; the Graph sandbox and a fake Slack
(tests/fake_slack.py, noting when each alert's post arrives) in this process; the worker as
`outreach-monitor run` in its own process, with the default settings except the poll interval
(and its jitter, a sixth of it: 10 s at 60 s). Each tenant has its own Slack channel, as an MSP
with a channel per customer would, so no channel floods into a digest.

After the first sync and one poll interval of warm-up, a vendor-outreach message lands in a random
mailbox every EVERY seconds for MINUTES minutes. Latency = arrival in Slack - landing. Target
(issue 6): p95 <= poll interval + 10 s with the default 60 s poll over 500 mailboxes. `--poll 10`
gives a quick look.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from click.testing import CliRunner  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from fake_slack import FakeSlack, Reply  # noqa: E402

from monitor.cli import cli  # noqa: E402
from monitor.commands.sandbox import demo_messages  # noqa: E402
from monitor.sandbox.directory import Directory  # noqa: E402
from monitor.sandbox.graph import GraphSandbox  # noqa: E402
from monitor.sandbox.identity import SANDBOX_CLIENT_ID, IdentitySandbox  # noqa: E402

COMMAND = Path(sys.executable).with_name("outreach-monitor")
MSP_DOMAIN = "northwind-demo-it.com"
OUTREACH = ("01-", "02-", "03-", "04-", "05-")  # the demo's vendor outreach (monitor/demo/*.json)


class TimedSlack(FakeSlack):
    """The fake Slack, noting when each alert id first arrives in a posted message."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: dict[int, float] = {}

    def _api_chat_postMessage(self, body: dict[str, Any]) -> Reply:
        reply = super()._api_chat_postMessage(body)
        if reply.body and reply.body.get("ok"):
            payload = (body.get("metadata") or {}).get("event_payload") or {}
            now = time.time()
            for alert_id in str(payload.get("alert_ids", "")).split(","):
                if alert_id.strip().isdigit():
                    self.arrivals.setdefault(int(alert_id), now)
        return reply


class Fleet:
    """Sandboxes, fake Slack, tenants connected with `connect`, and the worker process."""

    def __init__(self, workdir: Path, mailboxes: int, tenants: int, poll: float, *, quiet: bool = False) -> None:
        self.workdir = workdir
        self.directory = Directory()
        self.identity = IdentitySandbox(self.directory, interval=0).start()
        self.graph = GraphSandbox(self.directory).start()
        self.slack = TimedSlack()
        self.slack.start()
        self.key = Fernet.generate_key().decode()
        os.environ["OUTREACH_MONITOR_KEY"] = self.key
        os.environ.pop("OUTREACH_MONITOR_CLIENT_SECRET", None)
        self.config = workdir / "settings.toml"
        self.config.write_text(_settings(workdir, self.identity, self.graph, self.slack.url, poll), encoding="utf-8")
        self.database = workdir / "data" / "outreach-monitor.db"
        self.addresses: list[str] = []
        self.domain_of: dict[str, str] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self.templates = [m for name, m in zip(sorted(p.name for p in (ROOT / "monitor" / "demo").glob("*.json")),
                                               demo_messages(), strict=True) if name.startswith(OUTREACH)]
        started = time.monotonic()
        per_tenant = -(-mailboxes // tenants)
        made = 0
        for t in range(tenants):
            count = min(per_tenant, mailboxes - made)
            if count <= 0:
                break
            self._connect(t, count)
            made += count
            if not quiet and (t + 1) % 10 == 0:
                print(f"  connected {t + 1} tenants ({made} mailboxes), {time.monotonic() - started:.0f} s", flush=True)
        self._channels(tenants)
        print(f"world: {len(self.addresses)} mailboxes in {tenants} tenants, connected with `connect` in "
              f"{time.monotonic() - started:.1f} s", flush=True)

    def _connect(self, t: int, count: int) -> None:
        domain = f"customer{t:03d}.example"
        tenant = self.directory.add_tenant(f"Customer {t}", domain)
        owner = self.directory.add_user(tenant, f"owner@{domain}", f"Owner {t}").upn
        shared = []
        for m in range(1, count):
            address = f"mailbox{m:03d}@{domain}"
            self.directory.add_user(tenant, address, f"Mailbox {m}")
            self.directory.share(address, owner)
            shared.append(address)
        self.identity.auto_approve = owner
        args = ["--config", str(self.config), "connect", "--name", f"Customer {t}"]
        for address in shared:
            args += ["--mailbox", address]
        result = CliRunner().invoke(cli, args)
        if result.exit_code != 0:
            raise SystemExit(f"connect failed for Customer {t}:\n{result.output}")
        for address in [owner, *shared]:
            self.addresses.append(address)
            self.domain_of[address] = domain

    def _channels(self, tenants: int) -> None:
        with sqlite3.connect(self.database) as db:
            for (tenant_id,) in db.execute("SELECT id FROM tenant").fetchall():
                cid = f"C{tenant_id:08d}"
                self.slack.add_channel(cid, f"customer-{tenant_id}")
                db.execute("UPDATE tenant SET slack_channel = ? WHERE id = ?", (f"#customer-{tenant_id}", tenant_id))

    # --- the worker --------------------------------------------------------------------------
    def start_worker(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, "OUTREACH_MONITOR_KEY": self.key, "OUTREACH_MONITOR_SLACK_TOKEN": self.slack.token}
        with (self.workdir / "worker.log").open("ab") as log:
            self.process = subprocess.Popen([str(COMMAND), "--config", str(self.config), "run"], env=env,
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        return self.process

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.slack.stop()
        self.graph.stop()
        self.identity.stop()

    def wait_for_first_sync(self, timeout: float = 900) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            with sqlite3.connect(self.database) as db:
                left = db.execute("SELECT count(*) FROM mailbox WHERE last_success_at IS NULL").fetchone()[0]
            if left == 0:
                return time.monotonic() - started
            if self.process is not None and self.process.poll() is not None:
                raise SystemExit(f"the worker exited:\n{self.log()[-3000:]}")
            time.sleep(0.5)
        raise SystemExit(f"first sync not done after {timeout:g} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        path = self.workdir / "worker.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    # --- mail ---------------------------------------------------------------------------------
    def land(self, rng: random.Random, serial: int) -> tuple[str, float]:
        """One vendor-outreach message into a random mailbox; (internetMessageId, landing time)."""
        address = rng.choice(self.addresses)
        domain = self.domain_of[address]
        message = json.loads(json.dumps(rng.choice(self.templates)).replace("contoso-demo.com", domain))
        key = f"<bench-{serial}-{rng.getrandbits(32):08x}@{domain}>"
        message["internetMessageId"] = key
        self.graph.add_message(address, message)
        return key, time.time()

    def alert_keys(self) -> dict[int, str]:
        """alert id -> internetMessageId of its detection (from the worker's database)."""
        with sqlite3.connect(self.database) as db:
            rows = db.execute(
                "SELECT alert.id, detection.internet_message_id FROM alert JOIN detection "
                "ON detection.id = alert.detection_id").fetchall()
        return {int(a): str(k) for a, k in rows}


def _settings(workdir: Path, identity: IdentitySandbox, graph: GraphSandbox, slack_url: str, poll: float) -> str:
    return "\n".join([
        "[msp]", f'domains = ["{MSP_DOMAIN}"]',
        "[database]", f"data_dir = {json.dumps(str(workdir / 'data'))}",
        "[identity]", f'authority_host = "{identity.authority_host}"', f'client_id = "{SANDBOX_CLIENT_ID}"',
        f"ca_bundle = {json.dumps(identity.ca_file)}",
        "[graph]", f'endpoint = "{graph.base_url}"',
        "[worker]", f"poll_interval_seconds = {poll:g}", f"poll_jitter_seconds = {poll / 6:g}",
        "[slack]", f'api_url = "{slack_url}"', 'default_channel = "#alerts"',
        "",
    ])


def cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of a live process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident set) of a live process, in KiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mailboxes", type=int, default=500)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--poll", type=float, default=60.0, help="poll interval in seconds (the default is 60)")
    parser.add_argument("--minutes", type=float, default=4.0, help="how long messages keep landing")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between landing messages")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        fleet = Fleet(Path(tmp), args.mailboxes, args.tenants, args.poll)
        try:
            process = fleet.start_worker()
            print(f"worker pid {process.pid}; first sync of every mailbox ...", flush=True)
            print(f"first sync done in {fleet.wait_for_first_sync():.1f} s; warming up for one poll interval "
                  f"({args.poll:g} s)", flush=True)
            time.sleep(args.poll)
            landed: dict[str, float] = {}
            stop_at = time.monotonic() + args.minutes * 60
            serial = 0
            cpu_start, wall_start = cpu_seconds(process.pid), time.monotonic()
            print(f"landing one outreach message every {args.every:g} s for {args.minutes:g} min ...", flush=True)
            while time.monotonic() < stop_at:
                serial += 1
                key, at = fleet.land(rng, serial)
                landed[key] = at
                time.sleep(max(0.0, args.every - (time.time() - at)))
            deadline = time.monotonic() + args.poll + 60
            while time.monotonic() < deadline:
                if len(set(fleet.alert_keys().values()) & set(landed)) == len(landed) and \
                        len(fleet.slack.arrivals) >= len(landed):
                    break
                time.sleep(1)
            time.sleep(2)
            cpu = (cpu_seconds(process.pid) - cpu_start) / (time.monotonic() - wall_start)
            memory = memory_kib(process.pid)
            keys = fleet.alert_keys()
            latencies = [fleet.slack.arrivals[a] - landed[k] for a, k in keys.items()
                         if k in landed and a in fleet.slack.arrivals]
            missing = len(landed) - len(latencies)
        finally:
            fleet.stop()
    target = args.poll + 10
    p95 = percentile(latencies, 95) if latencies else float("nan")
    print(f"\n{len(landed)} messages landed, {len(latencies)} alerts arrived in Slack, {missing} missing")
    if latencies:
        print(f"latency (landing -> Slack): p50 {percentile(latencies, 50):.1f} s, p95 {p95:.1f} s, "
              f"max {max(latencies):.1f} s, min {min(latencies):.1f} s")
    print(f"worker: {cpu:.3f} CPU seconds per second, peak RSS {memory.get('VmHWM', 0) / 1024:.0f} MiB")
    print(f"target p95 <= poll interval + 10 s = {target:g} s: "
          f"{'MET' if latencies and missing == 0 and p95 <= target else 'MISSED'}")


if __name__ == "__main__":
    main()
