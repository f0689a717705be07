"""`outreach-monitor serve`: the real server process, on loopback by default."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.request

import pytest


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text(f'[database]\ndata_dir = "{tmp_path / "data"}"\n[web]\nport = 0\n', encoding="utf-8")
    return path


def start(config, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from monitor.cli import main; main()",
            "--config",
            str(config),
            "serve",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_listens_on_loopback_and_serves_the_sign_in_page(config):
    process = start(config)
    try:
        line = process.stdout.readline()
        assert line.startswith("Review log on http://127.0.0.1:"), line + process.stderr.read()
        url = line.split()[3].rstrip("/")
        # Loopback never goes through a proxy, whatever the environment says.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{url}/signin", timeout=10) as response:
            page = response.read().decode()
            assert response.status == 200
            assert "Server" not in response.headers  # no banner naming the software
            assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert 'name="csrf_token"' in page
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert "No users yet" in process.stderr.read()


def test_a_busy_port_is_one_clear_error(config):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = start(config, "--port", str(port))
        _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert f"error: [web] host/port: cannot listen on 127.0.0.1:{port}" in err
    assert "Traceback" not in err
