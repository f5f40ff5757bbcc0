"""`configurator user ...`: the people who sign in to the web forms.

`register(cli)` adds the group to the main command; DATABASE_URL selects the database.
"""
from __future__ import annotations

import os
import secrets
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click
from sqlalchemy.orm import Session

from ..config import VAR_DIR, load_config
from ..store.db import make_engine
from . import services
from .roles import ROLES

DEMO_EMAIL = "demo@example.com"
DEMO_NAME = "Demo Admin"
DEMO_ROLE = "admin"


def register(cli: click.Group) -> None:
    cli.add_command(user)


@contextmanager
def _session() -> Iterator[Session]:
    engine = make_engine(load_config()["DATABASE_URL"])
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


def _migrate() -> None:
    from ..store.commands import _upgrade
    _upgrade(load_config()["DATABASE_URL"])


def _invalid(exc: services.UserInvalid) -> click.ClickException:
    return click.ClickException("; ".join(f"{field}: {' '.join(messages)}"
                                          for field, messages in exc.errors.items()))


def _read_password(password_stdin: bool) -> tuple[str, bool]:
    """(password, generated?): from stdin, a prompt at a terminal, or generated."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    if sys.stdin.isatty():
        return click.prompt("Password (at least 8 characters)", hide_input=True,
                            confirmation_prompt=True), False
    return services.generate_password(), True


@click.group()
def user() -> None:
    """Users of the web forms: create, list, deactivate, reset passwords."""


@user.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The person's name, shown in the history.")
@click.option("--role", type=click.Choice(ROLES), default="solution-lead", show_default=True)
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input (default: prompt at a terminal, "
                   "else generate one and print it).")
def create(email: str, name: str, role: str, password_stdin: bool) -> None:
    """Create a user who signs in with EMAIL."""
    password, generated = _read_password(password_stdin)
    _migrate()
    with _session() as session:
        try:
            account = services.create_user(session, email, name, role, password)
        except services.UserInvalid as exc:
            raise _invalid(exc) from None
        session.commit()
    click.echo(f"created {account.email} ({account.role})")
    if generated:
        click.echo(f"password: {password}")


@user.command("list")
def list_command() -> None:
    """List users: email, role, active, last sign-in."""
    _migrate()
    with _session() as session:
        accounts = services.list_users(session)
    if not accounts:
        click.echo("no users; create one with `configurator user create EMAIL --name NAME`")
    for account in accounts:
        state = "active" if account.active else "deactivated"
        last = account.last_sign_in_at.strftime("%Y-%m-%d %H:%M UTC") \
            if account.last_sign_in_at else "never signed in"
        click.echo(f"{account.email:<32} {account.role:<16} {state:<12} {last}  {account.name}")


def _set_active(email: str, active: bool) -> None:
    _migrate()
    with _session() as session:
        try:
            account = services.get_user(session, email)
        except services.UserNotFound as exc:
            raise click.ClickException(str(exc)) from None
        services.set_active(session, account.id, active)
        session.commit()
    click.echo(f"{account.email} is {'active' if active else 'deactivated'}")


@user.command()
@click.argument("email")
def deactivate(email: str) -> None:
    """Deactivate a user: they cannot sign in, and their sessions end."""
    _set_active(email, False)


@user.command()
@click.argument("email")
def activate(email: str) -> None:
    """Let a deactivated user sign in again."""
    _set_active(email, True)


@user.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def set_password(email: str, password_stdin: bool) -> None:
    """Set a new password (prompted, read from stdin, or generated and printed)."""
    password, generated = _read_password(password_stdin)
    _migrate()
    with _session() as session:
        try:
            account = services.get_user(session, email)
            services.set_password(session, account.id, password)
        except services.UserNotFound as exc:
            raise click.ClickException(str(exc)) from None
        except services.UserInvalid as exc:
            raise _invalid(exc) from None
        session.commit()
    click.echo(f"password of {account.email} changed; their other sessions have ended")
    if generated:
        click.echo(f"password: {password}")


@user.command("ensure-demo")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path),
              default=VAR_DIR / "demo-password", show_default=True,
              help="Where the demo password is generated once and kept.")
def ensure_demo(password_file: Path) -> None:
    """Migrate the database and make sure the demo user can sign in; print the credentials.

    The password is generated once and kept in var/demo-password, so it stays the same across
    restarts. Run by bin/serve; not for production.
    """
    _migrate()
    password = demo_password(password_file)
    with _session() as session:
        account, done = services.ensure_user(session, DEMO_EMAIL, DEMO_NAME, DEMO_ROLE, password)
        session.commit()
    click.echo(f"Demo sign-in ({done}): email {account.email}  password {password}  "
               f"(role {account.role}: every page)")


def demo_password(path: Path = VAR_DIR / "demo-password") -> str:
    """The demo password, generated once into `path` (mode 0600)."""
    folder = path.parent
    if path.exists():
        return path.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".demo-password.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(services.generate_password())
    try:
        os.link(tmp, path)  # the first writer wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()
