"""The Graph client against the Graph sandbox: delta, link safety, retries, batching, named errors."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
from conftest import FRONTDESK, OWNER, PRIVATE

from monitor.config import GraphSettings
from monitor.errors import GraphError, MailboxUnreadable, SyncStateLost
from monitor.graph import SELECT, Credential, GraphClient, mailbox_path, parse_retry_after

SCOPES = ["Mail.Read", "Mail.Read.Shared", "User.Read"]


def now_iso(days_ago: float = 0) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def mail(subject: str, **extra: object) -> dict:
    return {
        "subject": subject,
        "body": {"contentType": "html", "content": f"<p>{subject}</p>"},
        "internetMessageHeaders": [{"name": "List-Unsubscribe", "value": "<mailto:u@vendor.test>"}],
        **extra,
    }


class Recorder:
    """An injected sleep: records each wait, really waits (briefly), and can run a step on each call."""

    def __init__(self, on_wait=None) -> None:  # type: ignore[no-untyped-def]
        self.waits: list[float] = []
        self.on_wait = on_wait

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.on_wait:
            self.on_wait(len(self.waits))
        threading.Event().wait(min(seconds, 1.0))


def client_for(sandbox, *, endpoint: str | None = None, **kw) -> GraphClient:  # type: ignore[no-untyped-def]
    settings = GraphSettings(
        endpoint=endpoint or sandbox.base_url,
        page_size=kw.pop("page_size", 4),
        max_concurrency=kw.pop("max_concurrency", 16),
    )
    kw.setdefault("backoff", 0.01)
    return GraphClient(settings, **kw)


def credential_for(directory, upn: str = OWNER, scopes=SCOPES) -> Credential:  # type: ignore[no-untyped-def]
    return Credential(lambda force: directory.issue_access_token(directory.user(upn), scopes))


def since() -> datetime:
    return datetime.now(UTC) - timedelta(days=14)


def test_first_sync_is_one_round_within_the_look_back_with_headers_text_and_immutable_ids(
    graph_sandbox, directory
) -> None:  # type: ignore[no-untyped-def]
    stored = [graph_sandbox.add_message(OWNER, mail(f"m{i}")) for i in range(10)]
    graph_sandbox.add_message(OWNER, mail("too old", receivedDateTime=now_iso(20)))
    client = client_for(graph_sandbox)
    url = client.delta_url("me", "inbox", since())
    assert "internetMessageHeaders" in url and "$filter=receivedDateTime%20ge%20" in url
    pages = list(client.iter_delta(url, credential_for(directory), mailbox="me"))
    assert [len(p.items) for p in pages] == [4, 4, 2]
    assert all(p.next_link for p in pages[:-1]) and pages[-1].delta_link and not pages[-1].next_link
    items = [item for page in pages for item in page.items]
    assert {i["id"] for i in items} == {m["id"] for m in stored}  # immutable ids
    assert items[0]["body"]["contentType"] == "text"
    assert items[0]["internetMessageHeaders"][0]["name"] == "List-Unsubscribe"
    assert set(items[0]) - {"@odata.type", "@odata.etag"} <= set(SELECT)
    # The stored delta link starts the next round: only what changed since.
    graph_sandbox.add_message(OWNER, mail("later"))
    [page] = client.iter_delta(pages[-1].delta_link, credential_for(directory))
    assert [i["subject"] for i in page.items] == ["later"]


def test_links_are_followed_only_on_the_configured_endpoint(graph_sandbox, directory) -> None:  # type: ignore[no-untyped-def]
    for i in range(6):
        graph_sandbox.add_message(OWNER, mail(f"m{i}"))
    # Configured as localhost: the sandbox's links name 127.0.0.1, another host as far as a token goes.
    client = client_for(graph_sandbox, endpoint=f"http://localhost:{graph_sandbox.port}/v1.0")
    url = client.delta_url("me", "inbox", since())
    with pytest.raises(GraphError, match="outside the configured endpoint"):
        list(client.iter_delta(url, credential_for(directory)))
    assert graph_sandbox.stats()["requests"] == 1  # the foreign next link was never requested
    for foreign in (
        f"https://127.0.0.1:{graph_sandbox.port}/v1.0/me",
        "http://evil.test/v1.0/me",
        f"http://localhost:{graph_sandbox.port}/beta/me",
    ):
        with pytest.raises(GraphError):
            client.get_page(foreign, credential_for(directory))
    assert graph_sandbox.stats()["requests"] == 1


def test_decimal_retry_after_is_honoured(graph_sandbox, directory) -> None:  # type: ignore[no-untyped-def]
    graph_sandbox.set_faults(rate_429=1.0, retry_after=0.15)
    sleep = Recorder(on_wait=lambda n: graph_sandbox.set_faults(rate_429=0.0))
    client = client_for(graph_sandbox, sleep=sleep)
    [page] = client.iter_delta(client.delta_url("me", "inbox", since()), credential_for(directory))
    assert page.delta_link
    assert sleep.waits == [0.15]
    assert graph_sandbox.stats()["status:429"] == 1  # the retry came after Retry-After, not too early


def test_5xx_backs_off_exponentially_with_jitter_then_gives_up(graph_sandbox, directory) -> None:  # type: ignore[no-untyped-def]
    graph_sandbox.set_faults(rate_504=1.0)
    sleep = Recorder()
    client = client_for(graph_sandbox, sleep=sleep, rand=lambda: 1.0, backoff=0.01, max_attempts=4)
    with pytest.raises(GraphError, match="after 4 attempt") as failure:
        client.get_page(client.delta_url("me", "inbox", since()), credential_for(directory))
    assert failure.value.code == "Unavailable"
    assert sleep.waits == pytest.approx([0.01, 0.02, 0.04])
    assert (
        GraphClient(GraphSettings(), rand=lambda: 0.0, backoff=1.0)._backoff(3) == 4.0
    )  # at least half a step


def test_dropped_connections_and_broken_bodies_are_retried(graph_sandbox, directory) -> None:  # type: ignore[no-untyped-def]
    graph_sandbox.add_message(OWNER, mail("one"))
    graph_sandbox.set_faults(drop_rate=1.0)
    sleep = Recorder(
        on_wait=lambda n: graph_sandbox.set_faults(drop_rate=0.0, malformed_rate=1.0 if n == 1 else 0.0)
    )
    client = client_for(graph_sandbox, sleep=sleep)
    [page] = client.iter_delta(client.delta_url("me", "inbox", since()), credential_for(directory))
    assert [i["subject"] for i in page.items] == ["one"]
    assert len(sleep.waits) == 2
    assert graph_sandbox.stats()["dropped"] == 1 and graph_sandbox.stats()["malformed"] == 1


def test_401_refreshes_the_token_once_then_stops(graph_sandbox, directory) -> None:  # type: ignore[no-untyped-def]
    owner = directory.user(OWNER)
    asked: list[bool] = []

    def stale_then_fresh(force: bool) -> str:
        asked.append(force)
        return directory.issue_access_token(owner, SCOPES, lifetime=3600 if force else -1)

    client = client_for(graph_sandbox)
    url = client.delta_url("me", "inbox", since())
    assert client.get_page(url, Credential(stale_then_fresh)).delta_link
    assert asked == [False, True]

    asked.clear()
    always_bad = Credential(lambda force: asked.append(force) or "not-a-token")  # type: ignore[func-returns-value]
    with pytest.raises(GraphError, match="even after a refresh") as failure:
        client.get_page(url, always_bad)
    assert failure.value.status == 401 and asked == [False, True]
    assert "not-a-token" not in str(failure.value) and "not-a-token" not in repr(always_bad)


def test_graph_error_codes_become_named_exceptions(graph_sandbox, directory) -> None:  # type: ignore[no-untyped-def]
    client = client_for(graph_sandbox)
    credential = credential_for(directory)
    private = mailbox_path(PRIVATE)
    with pytest.raises(MailboxUnreadable) as denied:
        client.get_page(client.delta_url(private, "inbox", since()), credential)
    assert (denied.value.status, denied.value.code) == (403, "ErrorAccessDenied")
    directory.user(FRONTDESK).mail_enabled = False
    with pytest.raises(MailboxUnreadable) as disabled:
        client.get_page(client.delta_url(mailbox_path(FRONTDESK), "inbox", since()), credential)
    assert disabled.value.code == "MailboxNotEnabledForRESTAPI"
    link = client.get_page(client.delta_url("me", "inbox", since()), credential).delta_link
    graph_sandbox.expire_delta_tokens()
    with pytest.raises(SyncStateLost) as lost:
        client.get_page(link, credential)
    assert (lost.value.status, lost.value.code) == (410, "SyncStateNotFound")
    with pytest.raises(GraphError) as missing:
        client.get_page(client.delta_url("me", "no-such-folder", since()), credential)
    assert missing.value.status == 404 and not isinstance(missing.value, MailboxUnreadable)


def test_batch_polls_many_mailboxes_in_few_requests(graph_sandbox, directory) -> None:  # type: ignore[no-untyped-def]
    tenant = directory.tenants[directory.user(OWNER).tenant_id]
    shared = [f"box{i}@contoso.example" for i in range(24)]
    for address in shared:
        directory.add_user(tenant, address)
        directory.share(address, OWNER)
        graph_sandbox.add_message(address, mail(f"hello {address}"))
    for i in range(6):
        graph_sandbox.add_message(shared[0], mail(f"more {i}"))  # 7 messages: two pages of 4
    client = client_for(graph_sandbox)
    credential = credential_for(directory)
    urls = {address: client.delta_url(mailbox_path(address), "inbox", since()) for address in shared}
    urls["private"] = client.delta_url(mailbox_path(PRIVATE), "inbox", since())
    pages = client.get_pages(urls, credential)
    stats = graph_sandbox.stats()
    assert stats["requests"] == stats["batches"] == 2 and stats["inner"] == 25
    assert isinstance(pages["private"], MailboxUnreadable)
    assert pages[shared[0]].next_link and len(pages[shared[0]].items) == 4  # type: ignore[union-attr]
    assert all(pages[a].delta_link and len(pages[a].items) == 1 for a in shared[1:])  # type: ignore[union-attr]
    # An idle poll of the stored delta links: still one request per 20 mailboxes.
    graph_sandbox.reset_stats()
    links = {a: pages[a].delta_link for a in shared[1:]}  # type: ignore[union-attr]
    idle = client.get_pages(links, credential)
    assert all(not p.items for p in idle.values())  # type: ignore[union-attr]
    assert graph_sandbox.stats()["requests"] == 2


def test_inner_throttling_is_retried_after_the_inner_retry_after(graph_sandbox, directory) -> None:  # type: ignore[no-untyped-def]
    tenant = directory.tenants[directory.user(OWNER).tenant_id]
    addresses = [f"t{i}@contoso.example" for i in range(10)]
    for address in addresses:
        directory.add_user(tenant, address)
        directory.share(address, OWNER)
        graph_sandbox.add_message(address, mail(address))
    graph_sandbox.set_faults(rate_429=0.5, rate_503=0.2, retry_after=0.05, seed=7)
    sleep = Recorder()
    client = client_for(graph_sandbox, sleep=sleep, max_attempts=30)
    pages = client.get_pages(
        {a: client.delta_url(mailbox_path(a), "inbox", since()) for a in addresses}, credential_for(directory)
    )
    assert {a: [i["subject"] for i in p.items] for a, p in pages.items()} == {a: [a] for a in addresses}  # type: ignore[union-attr]
    assert sleep.waits and all(w == pytest.approx(0.05, abs=0.01) for w in sleep.waits)
    stats = graph_sandbox.stats()
    assert stats["inner:429"] >= 1 and stats["requests"] == 1 + len(sleep.waits)


def test_at_most_four_requests_in_flight_per_mailbox(graph_sandbox, directory) -> None:  # type: ignore[no-untyped-def]
    graph_sandbox.set_faults(latency_ms=80)
    client = client_for(graph_sandbox)
    credential = credential_for(directory)
    url = client.delta_url("me", "inbox", since())
    errors: list[Exception] = []

    def poll() -> None:
        try:
            client.get_page(url, credential, mailbox="me")
        except GraphError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poll) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert graph_sandbox.stats().get("throttled", 0) == 0  # never over Outlook's MailboxConcurrency


def test_no_tokens_or_delta_tokens_in_logs(graph_sandbox, directory, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    token = directory.issue_access_token(directory.user(OWNER), SCOPES, lifetime=-1)
    fresh = directory.issue_access_token(directory.user(OWNER), SCOPES)
    graph_sandbox.set_faults(rate_503=1.0, retry_after=0.01)
    sleep = Recorder(on_wait=lambda n: graph_sandbox.set_faults(rate_503=0.0))
    client = client_for(graph_sandbox, sleep=sleep)
    page = client.get_page(
        client.delta_url("me", "inbox", since()), Credential(lambda force: fresh if force else token)
    )
    graph_sandbox.expire_delta_tokens()
    with pytest.raises(SyncStateLost) as lost:
        client.get_page(page.delta_link, Credential(lambda force: fresh))
    everything = caplog.text + str(lost.value)
    assert token not in everything and fresh not in everything
    # Delta tokens grant nothing alone, but our own lines keep them (and their query) out anyway.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name == "monitor.graph") + str(lost.value)
    assert "Graph answered 401" in ours and "$deltatoken" not in ours


def test_retry_after_parsing() -> None:
    assert parse_retry_after("2.128") == 2.128
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("") is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: now
