"""`configurator serve`: migrate the database, then serve the web app and the API (gunicorn).

The group's `--content DIR` arrives as `ctx.obj["content"]` and is handed to the server as
CONFIGURATOR_CONTENT.
"""
from __future__ import annotations

import os
from typing import Any

import click
from gunicorn.app.base import BaseApplication

from ..gcpause import freeze_long_lived
from ..content.pack import content_root
from ..services.checks import check_pack
from ..store.db import shown_url
from .db import content_to_env, database_url, upgrade_database


def register(cli: click.Group) -> None:
    cli.add_command(serve)


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
    content_to_env(ctx)
    url = database_url()
    upgrade_database(url)
    root = content_root(None)
    pack, problems = check_pack(root)
    if pack is None:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(f"The content pack at {root} cannot be used: the service starts, but "
                   "configuring answers 503 until it is fixed.", err=True)
    base = f"http://{_url_host(host)}:{port}"
    if not os.environ.get("WERKZEUG_RUN_MAIN"):  # not again in the dev server's reloader child
        click.echo(f"Configurator serving on {base}/ (database {shown_url(url)}, content {root})")
        click.echo(f"API: {base}/api/v1/  docs: {base}/api/v1/docs  "
                   f"OpenAPI: {base}/api/v1/openapi.json")
    if dev:
        from ..app import create_app   # start-up time: the other commands need no Flask

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
        from ..app import CONTENT_EXTENSION, create_app   # in the worker process: built there

        app = create_app()
        content = app.extensions[CONTENT_EXTENSION]
        content.on_change = freeze_long_lived      # and again after each reload
        freeze_long_lived()
        return app
