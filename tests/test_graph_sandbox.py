"""The Graph sandbox, driven over HTTP the way Graph is: shapes, delta, $batch, errors, throttling, faults."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from conftest import FRONTDESK, OUTSIDER, OWNER, PRIVATE

from monitor.http import Session
from monitor.sandbox.graph import GraphSandbox

PREFER = 'outlook.body-content-type="text", IdType="ImmutableId", odata.maxpagesize=3'
HEADERS_ON = "$select=subject,body,internetMessageHeaders"


def now_iso(days_ago: float = 0) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def mail(subject: str, **extra: object) -> dict:
    return {
        "subject": subject,
        "body": {
            "contentType": "html",
            "content": f"<p>Hello <a href='https://ex.test/{subject}'>here</a></p>",
        },
        "from": {"emailAddress": {"name": "Vendor Rep", "address": "rep@vendor.test"}},
        "internetMessageHeaders": [{"name": "X-Mailer", "value": "Outreach.io"}],
        **extra,
    }


@pytest.fixture
def http():  # type: ignore[no-untyped-def]
    with Session() as session:
        yield session


@pytest.fixture
def auth(directory):  # type: ignore[no-untyped-def]
    token = directory.issue_access_token(
        directory.user(OWNER), ["Mail.Read", "Mail.Read.Shared", "User.Read"]
    )
    return {"Authorization": f"Bearer {token}"}


def delta_round(http, url: str, headers: dict) -> tuple[list[dict], str, list[str]]:  # type: ignore[no-untyped-def]
    """Follows next links to the delta link; returns items, the delta link and the links seen."""
    items: list[dict] = []
    links: list[str] = []
    while True:
        answer = http.get(url, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items += body["value"]
        if "@odata.nextLink" in body:
            url = body["@odata.nextLink"]
            links.append(url)
            continue
        links.append(body["@odata.deltaLink"])
        return items, body["@odata.deltaLink"], links


def test_delta_pages_links_preferences_and_next_round(graph_sandbox, http, auth) -> None:  # type: ignore[no-untyped-def]
    for i in range(7):
        graph_sandbox.add_message(OWNER, mail(f"m{i}"))
    headers = {**auth, "Prefer": PREFER}
    first = http.get(
        f"{graph_sandbox.base_url}/me/mailFolders/inbox/messages/delta?{HEADERS_ON}", headers=headers
    )
    assert first.status_code == 200
    applied = first.headers["Preference-Applied"]
    assert 'outlook.body-content-type="text"' in applied and 'IdType="ImmutableId"' in applied
    assert "odata.maxpagesize=3" in applied
    assert first.headers["Content-Type"].startswith("application/json")
    assert first.headers["request-id"] and first.headers["client-request-id"] and first.headers["Date"]
    assert len(first.json()["value"]) == 3

    items, delta_link, links = delta_round(
        http, f"{graph_sandbox.base_url}/me/mailFolders/inbox/messages/delta?{HEADERS_ON}", headers
    )
    assert sorted(i["subject"] for i in items) == [f"m{i}" for i in range(7)]
    assert all(link.startswith(graph_sandbox.base_url + "/") for link in links)  # absolute, on its own base
    assert "$skiptoken=" in links[0] and "$deltatoken=" in delta_link
    assert items[0]["body"] == {"contentType": "text", "content": "Hello here <https://ex.test/m0>"}
    assert items[0]["internetMessageHeaders"] == [{"name": "X-Mailer", "value": "Outreach.io"}]

    # Nothing new: an empty round. Then one arrival, one deletion, one move out.
    again, delta_link, _ = delta_round(http, delta_link, headers)
    assert again == []
    graph_sandbox.add_message(OWNER, mail("new"))
    graph_sandbox.delete_message(OWNER, items[0]["id"])
    graph_sandbox.move_message(OWNER, items[1]["id"], "archive")
    changes, _, _ = delta_round(http, delta_link, headers)
    removed = {c["id"] for c in changes if "@removed" in c}
    assert removed == {items[0]["id"], items[1]["id"]}
    assert [c["subject"] for c in changes if "@removed" not in c] == ["new"]
    assert all(c["@removed"] == {"reason": "deleted"} for c in changes if "@removed" in c)


def test_select_headers_and_body_types(graph_sandbox, http, auth) -> None:  # type: ignore[no-untyped-def]
    stored = graph_sandbox.add_message(OWNER, mail("hello"))
    url = f"{graph_sandbox.base_url}/me/messages/{stored['id']}"
    plain = http.get(url, headers=auth).json()
    assert "internetMessageHeaders" not in plain  # only with $select
    assert plain["body"]["contentType"] == "html"
    assert plain["subject"] == "hello" and plain["internetMessageId"].startswith("<")
    selected = http.get(url + "?$select=subject,internetMessageHeaders", headers=auth).json()
    assert set(selected) == {"@odata.context", "@odata.etag", "id", "subject", "internetMessageHeaders"}
    text = http.get(url, headers={**auth, "Prefer": 'outlook.body-content-type="text"'})
    assert text.headers["Preference-Applied"] == 'outlook.body-content-type="text"'
    assert text.json()["body"]["contentType"] == "text"


def test_ids_change_on_move_unless_immutable_ids_are_asked_for(graph_sandbox, http, auth) -> None:  # type: ignore[no-untyped-def]
    graph_sandbox.add_message(OWNER, mail("moving"))
    url = f"{graph_sandbox.base_url}/me/mailFolders/inbox/messages/delta?$select=subject"
    [rest_before] = http.get(url, headers=auth).json()["value"]
    [immutable_before] = http.get(url, headers={**auth, "Prefer": 'IdType="ImmutableId"'}).json()["value"]
    graph_sandbox.move_message(OWNER, immutable_before["id"], "archive")
    archive = f"{graph_sandbox.base_url}/me/mailFolders/archive/messages/delta?$select=subject"
    [rest_after] = http.get(archive, headers=auth).json()["value"]
    [immutable_after] = http.get(archive, headers={**auth, "Prefer": 'IdType="ImmutableId"'}).json()["value"]
    assert rest_after["id"] != rest_before["id"]
    assert immutable_after["id"] == immutable_before["id"]


def test_filter_received_date_bounds_the_first_round(graph_sandbox, http, auth) -> None:  # type: ignore[no-untyped-def]
    graph_sandbox.add_message(OWNER, mail("old", receivedDateTime=now_iso(30)))
    graph_sandbox.add_message(OWNER, mail("recent", receivedDateTime=now_iso(1)))
    url = (
        f"{graph_sandbox.base_url}/me/mailFolders/inbox/messages/delta?$select=subject"
        f"&$filter=receivedDateTime%20ge%20{now_iso(14)}"
    )
    items, _, _ = delta_round(http, url, auth)
    assert [i["subject"] for i in items] == ["recent"]
    bad = http.get(
        f"{graph_sandbox.base_url}/me/mailFolders/inbox/messages/delta?$filter=subject%20eq%20'x'",
        headers=auth,
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "BadRequest"


def test_tokens_and_mailbox_access(graph_sandbox, http, auth, directory) -> None:  # type: ignore[no-untyped-def]
    base = graph_sandbox.base_url
    me = http.get(f"{base}/me", headers=auth).json()
    assert me["userPrincipalName"] == OWNER and me["id"] == directory.user(OWNER).object_id
    for headers in (
        {},
        {"Authorization": "Bearer not-a-token"},
        {
            "Authorization": "Bearer "
            + directory.issue_access_token(directory.user(OWNER), ["Mail.Read"], lifetime=-1)
        },
    ):
        answer = http.get(f"{base}/me/mailFolders/inbox/messages/delta", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith('Bearer realm=""')
        error = answer.json()["error"]
        assert error["code"] == "InvalidAuthenticationToken"
        assert error["innerError"]["request-id"] == answer.headers["request-id"]
    shared = http.get(f"{base}/users/{FRONTDESK}/mailFolders/inbox/messages/delta", headers=auth)
    assert shared.status_code == 200
    private = http.get(
        f"{base}/users/{directory.user(PRIVATE).object_id}/mailFolders/inbox/messages/delta", headers=auth
    )
    assert (private.status_code, private.json()["error"]["code"]) == (403, "ErrorAccessDenied")
    own_only = {
        "Authorization": "Bearer " + directory.issue_access_token(directory.user(OWNER), ["Mail.Read"])
    }
    assert (
        http.get(f"{base}/users/{FRONTDESK}/mailFolders/inbox/messages/delta", headers=own_only).status_code
        == 403
    )
    directory.user(FRONTDESK).mail_enabled = False
    gone = http.get(f"{base}/users/{FRONTDESK}/mailFolders/inbox/messages/delta", headers=auth)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "MailboxNotEnabledForRESTAPI")
    directory.user(OWNER).consent_revoked = True
    assert http.get(f"{base}/me", headers=auth).status_code == 401


def test_expired_delta_tokens_answer_410(graph_sandbox, http, auth) -> None:  # type: ignore[no-untyped-def]
    _, delta_link, _ = delta_round(
        http, f"{graph_sandbox.base_url}/me/mailFolders/inbox/messages/delta", auth
    )
    graph_sandbox.expire_delta_tokens(OWNER)
    gone = http.get(delta_link, headers=auth)
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "SyncStateNotFound"
    _, delta_link, _ = delta_round(
        http, f"{graph_sandbox.base_url}/me/mailFolders/inbox/messages/delta", auth
    )
    graph_sandbox.set_faults(expired_delta_rate=1.0)
    assert http.get(delta_link, headers=auth).status_code == 410


def test_batch_shapes_limits_and_dependencies(graph_sandbox, http, auth, directory) -> None:  # type: ignore[no-untyped-def]
    url = f"{graph_sandbox.base_url}/$batch"
    private = directory.user(PRIVATE).object_id
    requests_ = [
        {"id": "1", "method": "GET", "url": "/me"},
        {"id": "2", "method": "GET", "url": f"/users/{private}/mailFolders/inbox/messages/delta"},
        {
            "id": "3",
            "method": "GET",
            "url": f"/users/{FRONTDESK}/mailFolders/inbox/messages/delta",
            "headers": {"Prefer": "odata.maxpagesize=5"},
        },
        {"id": "4", "method": "GET", "url": "/me", "dependsOn": ["2"]},
    ]
    answer = http.post(url, headers=auth, json={"requests": requests_})
    assert answer.status_code == 200
    by_id = {r["id"]: r for r in answer.json()["responses"]}
    assert {k: v["status"] for k, v in by_id.items()} == {"1": 200, "2": 403, "3": 200, "4": 424}
    assert by_id["2"]["body"]["error"]["code"] == "ErrorAccessDenied"
    assert by_id["3"]["body"]["@odata.deltaLink"].startswith(graph_sandbox.base_url + "/users/")
    assert by_id["3"]["headers"]["Preference-Applied"] == "odata.maxpagesize=5"

    too_many = [{"id": str(i), "method": "GET", "url": "/me"} for i in range(21)]
    assert http.post(url, headers=auth, json={"requests": too_many}).status_code == 400
    duplicate = [{"id": "a", "method": "GET", "url": "/me"}, {"id": "A", "method": "GET", "url": "/me"}]
    assert http.post(url, headers=auth, json={"requests": duplicate}).status_code == 400
    absolute = [{"id": "1", "method": "GET", "url": f"{graph_sandbox.base_url}/me"}]
    assert http.post(url, headers=auth, json={"requests": absolute}).json()["responses"][0]["status"] == 400


def test_inner_requests_are_throttled_one_by_one(graph_sandbox, http, auth) -> None:  # type: ignore[no-untyped-def]
    graph_sandbox.set_faults(rate_429=1.0, retry_after=1.25)
    batch = [{"id": "1", "method": "GET", "url": f"/users/{FRONTDESK}/mailFolders/inbox/messages/delta"}]
    answer = http.post(f"{graph_sandbox.base_url}/$batch", headers=auth, json={"requests": batch})
    assert answer.status_code == 200  # as Dev Proxy and json-batching.md: the outer request succeeds
    [inner] = answer.json()["responses"]
    assert inner["status"] == 429 and inner["headers"]["Retry-After"] == "1.250"


def test_concurrency_limit_and_early_retry_are_throttled(graph_sandbox, http, auth) -> None:  # type: ignore[no-untyped-def]
    graph_sandbox.set_faults(latency_ms=300, retry_after=0.2)
    url = f"{graph_sandbox.base_url}/me/mailFolders/inbox/messages/delta"
    statuses: list[int] = []
    answers: list[requests.Response] = []

    start = threading.Barrier(6)

    def call() -> None:
        with Session() as own:
            start.wait()
            answer = own.get(url, headers=auth)
        answers.append(answer)
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) == 4 and statuses.count(429) == 2
    throttled = next(a for a in answers if a.status_code == 429)
    assert throttled.json()["error"]["code"] == "ApplicationThrottled"
    assert "MailboxConcurrency" in throttled.json()["error"]["message"]


def test_a_retry_before_retry_after_is_throttled_again(graph_sandbox, http, auth) -> None:  # type: ignore[no-untyped-def]
    url = f"{graph_sandbox.base_url}/me/mailFolders/inbox/messages/delta"
    graph_sandbox.set_faults(rate_429=1.0, retry_after=0.6)
    first = http.get(url, headers=auth)
    assert (first.status_code, first.headers["Retry-After"]) == (429, "0.600")
    graph_sandbox.set_faults(rate_429=0.0)
    early = http.get(url, headers=auth)
    assert early.status_code == 429
    assert 0 < float(early.headers["Retry-After"]) < 0.6  # the time that is left
    time.sleep(float(early.headers["Retry-After"]))
    assert http.get(url, headers=auth).status_code == 200


def test_request_budget_per_window(graph_sandbox, http, auth) -> None:  # type: ignore[no-untyped-def]
    graph_sandbox.set_limits(mailbox_budget=3, budget_window_seconds=0.5)
    url = f"{graph_sandbox.base_url}/me/mailFolders/inbox/messages/delta"
    assert [http.get(url, headers=auth).status_code for _ in range(4)] == [200, 200, 200, 429]
    other = http.get(
        f"{graph_sandbox.base_url}/users/{FRONTDESK}/mailFolders/inbox/messages/delta", headers=auth
    )
    assert other.status_code == 200  # the budget is per mailbox
    time.sleep(0.55)
    assert http.get(url, headers=auth).status_code == 200


def test_faults_malformed_dropped_and_errors(graph_sandbox, http, auth) -> None:  # type: ignore[no-untyped-def]
    url = f"{graph_sandbox.base_url}/me/mailFolders/inbox/messages/delta"
    graph_sandbox.set_faults(malformed_rate=1.0)
    broken = http.get(url, headers=auth)
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        broken.json()
    graph_sandbox.set_faults(malformed_rate=0.0, drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        http.get(url, headers=auth)
    graph_sandbox.set_faults(drop_rate=0.0, rate_503=1.0, retry_after=0.5)
    unavailable = http.get(url, headers=auth)
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "0.500"
    graph_sandbox.set_faults(rate_503=0.0, rate_504=1.0)
    assert http.get(url, headers=auth).status_code == 504
    stats = graph_sandbox.stats()
    assert stats["dropped"] == 1 and stats["malformed"] == 1 and stats["status:504"] == 1


def test_control_api_adds_messages_and_sets_faults(graph_sandbox, http, auth) -> None:  # type: ignore[no-untyped-def]
    root = graph_sandbox.root_url
    added = http.post(f"{root}/_sandbox/mailboxes/{FRONTDESK}/messages", json={"subject": "via HTTP"})
    assert added.status_code == 201
    message = added.json()
    assert message["id"] and message["internetMessageId"].startswith("<") and message["receivedDateTime"]
    assert message["parentFolderId"]
    fetched = http.get(f"{graph_sandbox.base_url}/users/{FRONTDESK}/messages/{message['id']}", headers=auth)
    assert fetched.json()["subject"] == "via HTTP"
    assert http.post(f"{root}/_sandbox/mailboxes/nobody@nowhere.test/messages", json={}).status_code == 404
    faults = http.put(f"{root}/_sandbox/faults", json={"latency_ms": 5, "rate_429": 0.1})
    assert faults.status_code == 200 and faults.json()["rate_429"] == 0.1
    assert graph_sandbox.faults.latency_ms == 5
    unknown = http.put(f"{root}/_sandbox/faults", json={"rate_500": 1})
    assert unknown.status_code == 400 and "rate_500" in unknown.json()["error"]["message"]
    assert http.put(f"{root}/_sandbox/faults", json={"rate_429": 2}).status_code == 400
    moved = http.post(
        f"{root}/_sandbox/mailboxes/{FRONTDESK}/messages/{message['id']}/move",
        json={"destinationId": "archive"},
    )
    assert moved.status_code == 200 and moved.json()["parentFolderId"] != message["parentFolderId"]
    assert http.delete(f"{root}/_sandbox/mailboxes/{FRONTDESK}/messages/{message['id']}").status_code == 204
    assert http.get(f"{root}/_sandbox/stats").json()["requests"] >= 1


def test_control_api_refuses_other_hosts(directory) -> None:  # type: ignore[no-untyped-def]
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent; picks the outward interface
            address = probe.getsockname()[0]
    except OSError:
        address = ""
    if not address or address.startswith("127."):
        pytest.skip("no non-loopback interface to call from")
    with GraphSandbox(directory, host="0.0.0.0") as graph:
        body = json.dumps({"rate_429": 1}).encode()
        with socket.create_connection((address, graph.port), timeout=5) as raw:
            raw.sendall(
                b"PUT /_sandbox/faults HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            reply = raw.recv(4096).decode()
        assert reply.startswith("HTTP/1.1 403")
        assert graph.faults.rate_429 == 0


def test_users_of_other_tenants_are_not_visible(graph_sandbox, http, auth) -> None:  # type: ignore[no-untyped-def]
    assert http.get(f"{graph_sandbox.base_url}/users/{FRONTDESK}", headers=auth).status_code == 200
    outsider = http.get(f"{graph_sandbox.base_url}/users/{OUTSIDER}", headers=auth)
    assert outsider.status_code == 404
    assert (
        http.get(
            f"{graph_sandbox.base_url}/users/{OUTSIDER}/mailFolders/inbox/messages/delta", headers=auth
        ).status_code
        == 403
    )


def test_sandbox_command_serves_a_new_users_first_try(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`outreach-monitor sandbox` in its own process, then `connect` and a scan with the settings it prints."""
    import os
    import queue
    import signal
    import subprocess
    import sys

    from click.testing import CliRunner
    from sqlmodel import Session as DbSession
    from sqlmodel import select

    from monitor.auth import TokenProvider
    from monitor.cli import cli
    from monitor.commands.sandbox import SHARED, SIGNS_IN
    from monitor.config import load_settings
    from monitor.db import make_engine
    from monitor.models import Alert, Detection, Mailbox
    from monitor.scanner import Scanner, provider_tokens

    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from monitor.cli import main; main()",
            "sandbox",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        env: dict[str, str] = {}
        while True:
            line = lines.get(timeout=30)
            if line.strip().startswith("export "):
                name, _, value = line.strip().removeprefix("export ").partition("=")
                env[name] = value.strip("'")
            if "counters:" in line:
                break
        assert env["OUTREACH_MONITOR__GRAPH__ENDPOINT"].startswith("http://127.0.0.1:")
        connected = CliRunner().invoke(
            cli, ["connect", "--name", "Contoso", "--mailbox", SHARED, "--timeout", "30"], env=env
        )
        assert connected.exit_code == 0, connected.output
        environ = {**os.environ, **env}
        settings = load_settings(environ=environ)
        engine = make_engine(settings.database_url)
        with DbSession(engine) as session:
            mailboxes = {m.address: m.id or 0 for m in session.exec(select(Mailbox)).all()}
        assert set(mailboxes) == {SIGNS_IN, SHARED}
        scanner = Scanner(settings, engine, provider_tokens(TokenProvider(settings, engine, environ=environ)))
        results = scanner.scan_mailboxes(list(mailboxes.values()))
        assert [r.status for r in results] == ["ok", "ok"] and sum(r.messages for r in results) >= 10
        with DbSession(engine) as session:
            assert session.exec(select(Detection)).all() and session.exec(select(Alert)).all()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    assert any("Sandbox stopped." in line for line in list(lines.queue))
