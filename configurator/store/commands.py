"""CLI commands for the database and the server: `configurator db ...` and `configurator serve`.

`register(cli)` adds them to the main command group; the group's `--content DIR` arrives as
`ctx.obj["content"]` and is handed to the server as CONFIGURATOR_CONTENT.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from gunicorn.app.base import BaseApplication
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ..config import load_config
from . import migrate


def register(cli: click.Group) -> None:
    cli.add_command(db)
    cli.add_command(serve)


def _content_to_env(ctx: click.Context) -> None:
    content = (ctx.obj or {}).get("content")
    if content:
        os.environ["CONFIGURATOR_CONTENT"] = str(Path(content).resolve())


def _database_url() -> str:
    return load_config()["DATABASE_URL"]


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _upgrade(url: str, revision: str = "head") -> None:
    try:
        migrate.upgrade(url, revision)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot migrate the database at {_shown(url)}: "
                                   f"{getattr(exc, 'orig', None) or exc}") from None


@click.group()
@click.pass_context
def db(ctx: click.Context) -> None:
    """Database administration: migrations (DATABASE_URL selects the database)."""
    _content_to_env(ctx)


@db.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    url = _database_url()
    _upgrade(url, revision)
    click.echo(f"database {_shown(url)} is at {', '.join(migrate.current(url)) or 'base'}")


@db.command()
def current() -> None:
    """Show the database's migration and the newest one this code has."""
    url = _database_url()
    try:
        found = migrate.current(url)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot reach the database at {_shown(url)}: "
                                   f"{getattr(exc, 'orig', None) or exc}") from None
    heads = migrate.heads()
    if not found:
        click.echo(f"database {_shown(url)} is not migrated (newest: {', '.join(heads)}); "
                   "run `configurator db upgrade`")
    elif set(found) == set(heads):
        click.echo(f"database {_shown(url)} is at {', '.join(found)} (newest)")
    else:
        click.echo(f"database {_shown(url)} is at {', '.join(found)}; newest is "
                   f"{', '.join(heads)}: run `configurator db upgrade`")


@db.command()
@click.option("-m", "--message", required=True, help="What the migration changes.")
def revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database
    (for developers; migrate the database to the newest migration first)."""
    migrate.new_revision(_database_url(), message)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="gunicorn worker processes.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Threads per worker: 1 gives gunicorn's sync workers (the faster setting in "
                   "docs/performance.md); more uses gthread workers.")
@click.option("--dev", is_flag=True, help="Flask's development server with reloading instead of "
                                          "gunicorn.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, threads: int,
          dev: bool) -> None:
    """Migrate the database, then serve the web app and the API (gunicorn)."""
    from ..content.pack import check_pack, content_root

    _content_to_env(ctx)
    url = _database_url()
    _upgrade(url)
    root = content_root(None)
    pack, problems = check_pack(root)
    if pack is None:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(f"The content pack at {root} cannot be used: the service starts, but "
                   "configuring answers 503 until it is fixed.", err=True)
    base = f"http://{_url_host(host)}:{port}"
    if not os.environ.get("WERKZEUG_RUN_MAIN"):  # not again in the dev server's reloader child
        click.echo(f"Configurator serving on {base}/ (database {_shown(url)}, content {root})")
        click.echo(f"API: {base}/api/v1/  docs: {base}/api/v1/docs  "
                   f"OpenAPI: {base}/api/v1/openapi.json")
    if dev:
        from ..app import create_app

        create_app().run(host=host, port=port, debug=True)
        return
    _Gunicorn({"bind": f"{host}:{port}", "workers": workers, "threads": threads,
               "worker_class": "gthread" if threads > 1 else "sync", "accesslog": "-",
               "timeout": 60, "graceful_timeout": 20, "proc_name": "configurator",
               # gunicorn 27's control socket sits at one path per user: two servers would clash
               "control_socket_disable": True}).run()


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "localhost"
    return f"[{host}]" if ":" in host else host


class _Gunicorn(BaseApplication):
    """gunicorn running `configurator.app:create_app()` in each worker."""

    def __init__(self, options: dict[str, Any]):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # settings an older gunicorn lacks are skipped
                self.cfg.set(key, value)

    def load(self) -> Any:
        from ..app import CONTENT_EXTENSION, create_app
        from ..gcpause import freeze_long_lived

        app = create_app()
        content = app.extensions[CONTENT_EXTENSION]
        content.on_change = freeze_long_lived      # and again after each reload
        freeze_long_lived()
        return app
