"""`configurator db ...`: database migrations (DATABASE_URL selects the database).

`register(cli)` adds the group to the main command; the group's `--content DIR` arrives as
`ctx.obj["content"]` and is handed on as CONFIGURATOR_CONTENT.
"""
from __future__ import annotations

import os
from pathlib import Path

import click

from ..config import load_config
from ..store import migrate
from ..store.db import shown_url
from ..store.errors import DatabaseError


def register(cli: click.Group) -> None:
    cli.add_command(db)


def content_to_env(ctx: click.Context) -> None:
    content = (ctx.obj or {}).get("content")
    if content:
        os.environ["CONFIGURATOR_CONTENT"] = str(Path(content).resolve())


def database_url() -> str:
    return load_config()["DATABASE_URL"]


def upgrade_database(url: str, revision: str = "head") -> None:
    try:
        migrate.upgrade(url, revision)
    except DatabaseError as exc:
        raise click.ClickException(f"cannot migrate the database at {shown_url(url)}: "
                                   f"{getattr(exc, 'orig', None) or exc}") from None


@click.group()
@click.pass_context
def db(ctx: click.Context) -> None:
    """Database administration: migrations (DATABASE_URL selects the database)."""
    content_to_env(ctx)


@db.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    url = database_url()
    upgrade_database(url, revision)
    click.echo(f"database {shown_url(url)} is at {', '.join(migrate.current(url)) or 'base'}")


@db.command()
def current() -> None:
    """Show the database's migration and the newest one this code has."""
    url = database_url()
    try:
        found = migrate.current(url)
    except DatabaseError as exc:
        raise click.ClickException(f"cannot reach the database at {shown_url(url)}: "
                                   f"{getattr(exc, 'orig', None) or exc}") from None
    heads = migrate.heads()
    if not found:
        click.echo(f"database {shown_url(url)} is not migrated (newest: {', '.join(heads)}); "
                   "run `configurator db upgrade`")
    elif set(found) == set(heads):
        click.echo(f"database {shown_url(url)} is at {', '.join(found)} (newest)")
    else:
        click.echo(f"database {shown_url(url)} is at {', '.join(found)}; newest is "
                   f"{', '.join(heads)}: run `configurator db upgrade`")


@db.command()
@click.option("-m", "--message", required=True, help="What the migration changes.")
def revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database
    (for developers; migrate the database to the newest migration first)."""
    migrate.new_revision(database_url(), message)
