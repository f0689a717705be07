"""The `outreach-monitor` command line.

The root group reads the settings once (``--config`` or ``OUTREACH_MONITOR_CONFIG``) and
hands commands an :class:`App`. Commands live in ``monitor/commands/<area>.py``; each module
exports ``COMMANDS``, a list of click commands, and is picked up here, so an area's commands
sit next to each other and adding one touches no other file.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click
from sqlalchemy.engine import Engine

from monitor import __version__, commands
from monitor.config import Settings, load_settings
from monitor.errors import OutreachMonitorError


@dataclass
class App:
    """What every command gets: settings read once, the database opened on first use."""

    config_path: Path | None = None
    _settings: Settings | None = None
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
            logging.getLogger().setLevel(self._settings.logging.level)
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from monitor.db import make_engine

            self._engine = make_engine(self.settings.database_url)
        return self._engine


pass_app = click.make_pass_decorator(App)


class _Group(click.Group):
    """Turns the project's own errors into one clear line and an exit code, not a traceback."""

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except OutreachMonitorError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file (default: settings.toml, or OUTREACH_MONITOR_CONFIG).",
)
@click.version_option(__version__, prog_name="outreach-monitor")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Spot direct vendor sales outreach in your customers' mailboxes and alert your team."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s", level=logging.WARNING)
    ctx.obj = App(config_path=config_path)


def _register() -> None:
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="outreach-monitor")
