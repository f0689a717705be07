"""The review log: a small server-rendered web app where account managers review, triage and
export the intercepted outreach (`outreach-monitor serve`)."""

from monitor.web.app import create_app

__all__ = ["create_app"]
