"""Command modules, one per area; each exports COMMANDS (see monitor/cli.py)."""
