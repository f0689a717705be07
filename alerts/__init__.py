"""Where verdicts go: the durable alert outbox and its sinks (Slack, console)."""
