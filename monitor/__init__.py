"""Outreach Monitor service: settings, database, identity, Graph scanning, worker, CLI, sandbox."""

__version__ = "0.1.0"
