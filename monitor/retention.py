"""The daily clean-up: history older than ``[worker] retention_days`` is deleted.

Detections go with their delivered alerts; delivered tenant-health alerts, Slack messages no
alert points at any more, long-expired silences and the rows of workers gone quiet go too. What
still waits for delivery stays, and so does its detection: nothing is deleted before Slack has
it. The review log's audit trail names detections by id (no foreign key) and is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.engine import Engine

from monitor.models import Alert, Detection, Silence, SlackPost, WorkerState

CHUNK = 500  # detections per transaction: the worker's other writers never wait long


def clean_up(
    engine: Engine,
    retention_days: int,
    now: datetime,
    *,
    keep_worker: str = "",
    stopping: Callable[[], bool] = lambda: False,
) -> dict[str, int]:
    """Deletes what is older than ``retention_days`` before ``now``; returns counts per kind.
    ``keep_worker``: the calling worker's row, never deleted. ``stopping``: checked between chunks."""
    cutoff = now - timedelta(days=retention_days)
    counts = {"detections": 0, "alerts": 0, "slack_posts": 0, "silences": 0, "workers": 0}
    alerts, detections = Alert.__table__, Detection.__table__  # type: ignore[attr-defined]
    posts, silences = SlackPost.__table__, Silence.__table__  # type: ignore[attr-defined]
    workers = WorkerState.__table__  # type: ignore[attr-defined]
    waiting = exists().where(alerts.c.detection_id == detections.c.id, alerts.c.state == "pending")
    while not stopping():
        with engine.begin() as connection:
            ids = list(connection.execute(
                select(detections.c.id).where(detections.c.created_at < cutoff, ~waiting).limit(CHUNK)
            ).scalars())
            if not ids:
                break
            counts["alerts"] += connection.execute(delete(alerts).where(alerts.c.detection_id.in_(ids))).rowcount
            counts["detections"] += connection.execute(delete(detections).where(detections.c.id.in_(ids))).rowcount
    with engine.begin() as connection:
        counts["alerts"] += connection.execute(
            delete(alerts).where(alerts.c.detection_id.is_(None), alerts.c.created_at < cutoff,
                                 alerts.c.state != "pending")
        ).rowcount
        referenced = exists().where(alerts.c.post_id == posts.c.id)
        counts["slack_posts"] += connection.execute(delete(posts).where(posts.c.created_at < cutoff, ~referenced)).rowcount
        counts["silences"] += connection.execute(delete(silences).where(silences.c.expires_at < cutoff)).rowcount
        counts["workers"] += connection.execute(
            delete(workers).where(workers.c.heartbeat_at < cutoff, workers.c.id != keep_worker)
        ).rowcount
    return counts
