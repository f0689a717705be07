"""Database tables. The database is the source of truth for tenants, mailboxes, cursors,
detections and the alert outbox; the scheduler keeps nothing of its own.

Times are timezone-aware UTC datetimes; use :func:`utcnow`. (SQLModel's datetime columns refuse
naive values and give back aware UTC ones, even from SQLite.)
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Tenant(SQLModel, table=True):
    """A customer organisation connected with one person's delegated consent."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    # Entra tenant id (GUID) and the signed-in user's details, filled in by `connect`.
    tenant_guid: str = Field(default="", index=True)
    domains: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))  # JSON list
    home_account_id: str = ""
    username: str = ""
    # "pending" (never connected), "active", "paused", "needs_reconnect"
    status: str = Field(default="pending", index=True)
    status_reason: str = ""
    # msal SerializableTokenCache, encrypted (Fernet); never stored in clear.
    token_cache: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    slack_channel: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    connected_at: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None


class Mailbox(SQLModel, table=True):
    """One mailbox the worker reads: the signed-in user's own, or one shared with them."""

    __table_args__ = (UniqueConstraint("tenant_id", "address", name="uq_mailbox_address"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    address: str
    graph_user_id: str = ""  # Graph user id, or "" for the signed-in user's own mailbox (/me)
    display_name: str = ""
    shared: bool = False
    enabled: bool = True
    # "ok", "unreadable" (403/404 from Graph: waits for unreadable_until or a fix)
    status: str = Field(default="ok", index=True)
    status_reason: str = ""
    unreadable_until: datetime | None = None
    # Scheduling: due when next_poll_at <= now and no live lease.
    next_poll_at: datetime = Field(default_factory=utcnow, index=True)
    lease_until: datetime | None = None
    lease_owner: str = ""
    last_success_at: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None
    messages_seen: int = 0
    detections_count: int = 0


class FolderCursor(SQLModel, table=True):
    """The stored @odata.deltaLink of one folder, saved only after its page was committed."""

    __table_args__ = (UniqueConstraint("mailbox_id", "folder", name="uq_cursor_folder"),)

    id: int | None = Field(default=None, primary_key=True)
    mailbox_id: int = Field(foreign_key="mailbox.id", index=True)
    folder: str
    delta_link: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    synced_at: datetime | None = None


class Detection(SQLModel, table=True):
    """A message the detectors judged worth keeping. Unique per mailbox and internetMessageId,
    so reprocessing a page after a crash never creates a second one."""

    __table_args__ = (UniqueConstraint("mailbox_id", "internet_message_id", name="uq_detection_message"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    mailbox_id: int = Field(foreign_key="mailbox.id", index=True)
    internet_message_id: str
    graph_message_id: str = ""
    conversation_id: str = ""
    received_at: datetime | None = Field(default=None, index=True)
    sender_address: str = Field(default="", index=True)
    sender_name: str = ""
    recipients: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))  # JSON list
    subject: str = ""
    label: str = Field(index=True)
    vendor: str = Field(default="", index=True)
    score: float = 0.0
    rules: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))  # JSON list
    snippet: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    web_link: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # Triage: "new", "acknowledged", "resolved", "false_positive"
    status: str = Field(default="new", index=True)
    outcome: str = ""
    deleted_in_mailbox: bool = False
    # The watched folder (as configured, e.g. "inbox") it was last seen in: an "@removed" from
    # another folder is a move between watched folders, not a deletion.
    folder: str = ""
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class Alert(SQLModel, table=True):
    """The outbox: written in the same transaction as its detection (or tenant-health event),
    delivered until Slack acknowledges it."""

    id: int | None = Field(default=None, primary_key=True)
    # "detection" or "tenant_health"
    kind: str = Field(default="detection", index=True)
    detection_id: int | None = Field(default=None, foreign_key="detection.id", index=True)
    tenant_id: int | None = Field(default=None, foreign_key="tenant.id", index=True)
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))  # JSON
    group_key: str = Field(default="", index=True)
    # "pending", "sent", "dead" (permanent failure), "silenced"
    state: str = Field(default="pending", index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
    last_error: str = ""
    channel: str = ""
    ts: str = ""
    thread_ts: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    # The Slack message that carries this alert (a campaign parent or a digest), if any.
    post_id: int | None = Field(default=None, foreign_key="slackpost.id", index=True)
    # Set just before a post is attempted and cleared once its outcome is known: a row still
    # marked on the next flush may already be in Slack, so it is looked up before re-posting.
    post_started_at: datetime | None = None


class SlackPost(SQLModel, table=True):
    """A top-level Slack message the outbox keeps editing: a campaign's parent or a flood digest."""

    id: int | None = Field(default=None, primary_key=True)
    # "campaign" (one group key's parent; later alerts reply in its thread) or "digest"
    kind: str = Field(index=True)
    route: str = Field(default="", index=True)  # the channel as routed (a name or an id)
    channel: str = Field(index=True)  # the channel id Slack answered with
    ts: str
    tenant_id: int | None = Field(default=None, foreign_key="tenant.id", index=True)
    group_key: str = Field(default="", index=True)
    # Alerts it carries, and how many the Slack message shows; fewer shown means a chat.update is owed.
    members: int = 1
    shown: int = 1
    # created_at of its newest alert: the grouping window slides on this.
    last_member_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    update_attempts: int = 0
    next_update_at: datetime = Field(default_factory=utcnow)
    last_error: str = ""


class Silence(SQLModel, table=True):
    """Mutes the detection alerts matching every non-empty field until it expires; rows are kept."""

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = ""  # tenant name, "" for any
    sender: str = ""  # an address, or a domain (matches its subdomains too), "" for any
    vendor: str = ""
    reason: str
    created_by: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
    removed_at: datetime | None = None
    hits: int = 0
    last_hit_at: datetime | None = None


# --- the review log (monitor/web) -------------------------------------------------------------
# Audit rows name people by user name and detections by a plain id rather than by a foreign key:
# removing a user, or the retention clean-up deleting old detections, must never fail on them or
# erase who did what.


class User(SQLModel, table=True):
    """A member of the MSP's staff who signs in to the review log."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True)  # lower case
    password_hash: str  # argon2id, never the password
    # "viewer" (read, export), "reviewer" (+ triage), "admin" (+ users)
    role: str = Field(default="viewer")
    created_at: datetime = Field(default_factory=utcnow)
    last_signin_at: datetime | None = None
    # SHA-256 of the bearer token for the JSON API ("" when none); the token is shown once.
    api_token_hash: str = Field(default="", index=True)
    api_token_created_at: datetime | None = None


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so a
    copy of the database cannot be replayed as a session. Signing out deletes the row."""

    id: str = Field(primary_key=True)  # sha256 hex of the cookie's token
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


class SignInFailure(SQLModel, table=True):
    """A failed sign-in, for the lock-out. Kept for unknown user names too, so the answer
    does not tell whether a name exists."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True)
    remote_addr: str = ""
    at: datetime = Field(default_factory=utcnow, index=True)


class TriageEvent(SQLModel, table=True):
    """The audit trail of the review log: one row per change to a detection or an allow-list."""

    id: int | None = Field(default=None, primary_key=True)
    detection_id: int | None = Field(default=None, index=True)
    # A foreign key so that purging a customer (`tenants remove --purge`) takes its notes too.
    tenant_id: int | None = Field(default=None, foreign_key="tenant.id", index=True)
    username: str
    at: datetime = Field(default_factory=utcnow, index=True)
    # "status", "note", "allow" (sender allow-listed), "unallow" (allow-list entry removed)
    action: str
    from_status: str = ""
    to_status: str = ""
    outcome: str = ""
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    sender: str = ""  # the address or domain allow-listed or removed


class AllowedSender(SQLModel, table=True):
    """A sender (address or domain) the detectors never flag for one customer, added when a
    reviewer marks a detection a false positive."""

    __table_args__ = (UniqueConstraint("tenant_id", "value", name="uq_allowed_sender"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    value: str  # lower-case address ("a@b.example") or domain ("b.example")
    detection_id: int | None = None
    created_by: str = ""
    created_at: datetime = Field(default_factory=utcnow)


# --- the worker (monitor/worker.py) -------------------------------------------------------------


class WorkerState(SQLModel, table=True):
    """One row per worker process: its heartbeat and last cycle, for `outreach-monitor status`.
    ``id`` is the owner name its mailbox leases carry."""

    id: str = Field(primary_key=True)
    host: str = ""
    pid: int = 0
    started_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime = Field(default_factory=utcnow, index=True)
    stopped_at: datetime | None = None
    cycles: int = 0
    last_cycle_at: datetime | None = None
    last_cycle: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))  # JSON figures
    last_flush_at: datetime | None = None


class Lease(SQLModel, table=True):
    """A named lease that one process at a time holds (e.g. "alert-flush"): work that must not
    run twice at once, across worker processes and manual commands."""

    name: str = Field(primary_key=True)
    holder: str = ""
    until: datetime | None = None
