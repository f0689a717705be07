"""`outreach-monitor demo` as a newcomer runs it: a fresh directory, no settings, no terminal,
a proxy and a CA bundle in the environment that must not matter, and nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

COMMAND = Path(sys.executable).with_name("outreach-monitor")
DEAD_PROXY = "http://127.0.0.1:9"


def start_demo(cwd: Path, *args: str) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OUTREACH_MONITOR")}
    env.update(
        HTTP_PROXY=DEAD_PROXY, HTTPS_PROXY=DEAD_PROXY, REQUESTS_CA_BUNDLE="/etc/ssl/certs/ca-certificates.crt"
    )
    return subprocess.Popen(
        [str(COMMAND), "demo", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float) -> str:
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"the demo did not end within {timeout:g} s:\n{output}") from None
    assert process.returncode == 0, output
    return output


def test_the_demo_runs_the_whole_job_and_ends_by_itself(tmp_path) -> None:  # type: ignore[no-untyped-def]
    process = start_demo(tmp_path, "--seconds", "6")
    try:
        output = finish(process, 60)
    finally:
        process.kill()
    # The real device-code sign-in, as `connect` shows it.
    assert "devicelogin and enter the code" in output and "Connected 'Contoso'" in output
    assert "finance@contoso-demo.com       shared  readable" in output
    # Every outreach and the impersonation alert once, as Slack would show them; nothing else does.
    assert output.count("━━ Vendor outreach · Contoso") == 6
    assert output.count("━━ Possible impersonation · Contoso") == 1
    assert output.count("━━ ") == 8  # the seven alerts and the summary
    assert "12 message(s) arrived in 2 mailbox(es); the worker scanned 12 and raised 7 alert(s)." in output
    for why in (
        "bulk marketing",
        "service mail from Microsoft",
        "internal mail at the customer",
        "your own mail",
        "another IT provider's pitch",
    ):
        assert why in output
    assert "--config var/demo/settings.toml serve" in output
    data = tmp_path / "var" / "demo"
    assert (data / "outreach-monitor.db").is_file() and (data / "settings.toml").is_file()


def test_ctrl_c_ends_the_demo_at_once_with_its_summary(tmp_path) -> None:  # type: ignore[no-untyped-def]
    process = start_demo(tmp_path, "--seconds", "120")
    try:
        assert process.stdout is not None
        seen = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            seen.append(line)
            if "━━ Vendor outreach" in line:
                break
        else:
            raise AssertionError("no alert within 30 s:\n" + "".join(seen))
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        output = "".join(seen) + finish(process, 20)
        assert time.monotonic() - started < 10
    finally:
        process.kill()
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    assert "━━ What happened" in output and "raised" in output


def test_the_demo_empties_only_its_own_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from monitor.demo import MARKER, reset_data_dir

    mine = reset_data_dir(tmp_path / "demo")
    (mine / "outreach-monitor.db").write_text("old run")
    assert reset_data_dir(tmp_path / "demo") == mine and not (mine / "outreach-monitor.db").exists()
    assert (mine / MARKER).exists()
    precious = tmp_path / "var"
    precious.mkdir()
    (precious / "outreach-monitor.db").write_text("real customers")
    with pytest.raises(Exception, match="not a demo directory"):
        reset_data_dir(precious)
    assert (precious / "outreach-monitor.db").read_text() == "real customers"
