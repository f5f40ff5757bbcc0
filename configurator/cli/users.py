"""`configurator user ...`: the people who sign in to the web forms;
`configurator apikey ...`: the keys programs use for the REST API.

`register(cli)` adds the groups to the main command; DATABASE_URL selects the database.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import sys
from pathlib import Path

import click

from ..accounts import apikeys, services
from ..accounts.roles import ROLES, SCOPES
from ..config import VAR_DIR, load_config
from ..content.pack import content_root
from ..services.checks import check_pack
from ..store.db import session_for
from .db import upgrade_database

DEMO_EMAIL = "demo@example.com"
DEMO_NAME = "Demo Admin"
DEMO_ROLE = "admin"


def register(cli: click.Group) -> None:
    cli.add_command(user)
    cli.add_command(apikey)


def _session():
    return session_for(load_config()["DATABASE_URL"])


def _migrate() -> None:
    upgrade_database(load_config()["DATABASE_URL"])


def _invalid(exc: Exception) -> click.ClickException:
    """A refusal as the CLI shows it (FieldsInvalid lists `field: messages`)."""
    return click.ClickException(str(exc))


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
        roles = f"  approves as {', '.join(account.approver_roles)}" \
            if account.approver_roles else ""
        click.echo(f"{account.email:<32} {account.role:<16} {state:<12} {last}  "
                   f"{account.name}{roles}")


@user.command("roles")
@click.argument("email")
@click.argument("roles", nargs=-1)
@click.option("--none", "clear", is_flag=True, help="Take every approver role away.")
def roles_command(email: str, roles: tuple[str, ...], clear: bool) -> None:
    """Set the approver roles EMAIL holds (the roles the rules name in `require_approval`,
    e.g. `configurator user roles ana@example.com finance legal`): the approvals they may give."""
    if not roles and not clear:
        raise click.UsageError("name the roles (e.g. finance legal), or --none to take them away")
    _migrate()
    with _session() as session:
        try:
            account = services.set_approver_roles(session, services.get_user(session, email).id,
                                                  [] if clear else list(roles))
        except services.UserNotFound as exc:
            raise click.ClickException(str(exc)) from None
        except services.UserInvalid as exc:
            raise _invalid(exc) from None
        session.commit()
    click.echo(f"{account.email} approves as: {', '.join(account.approver_roles) or 'nobody'}")


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
@click.pass_context
def ensure_demo(ctx: click.Context, password_file: Path) -> None:
    """Migrate the database and make sure the demo user can sign in; print the credentials.

    The password is generated once and kept in var/demo-password, so it stays the same across
    restarts. Run by bin/serve; not for production.
    """
    _migrate()
    password = demo_password(password_file)
    # the demo admin approves as every role the served pack's rules name
    pack, _ = check_pack(content_root((ctx.obj or {}).get("content")))
    with _session() as session:
        account, done = services.ensure_user(session, DEMO_EMAIL, DEMO_NAME, DEMO_ROLE, password)
        if pack is not None and set(account.approver_roles) != set(pack.approver_roles):
            account = services.set_approver_roles(session, account.id, pack.approver_roles)
        session.commit()
    roles = f"; approves as {', '.join(account.approver_roles)}" if account.approver_roles else ""
    click.echo(f"Demo sign-in ({done}): email {account.email}  password {password}  "
               f"(role {account.role}: every page{roles})")


def demo_password(path: Path = VAR_DIR / "demo-password") -> str:
    """The demo password, generated once into `path` (mode 0600)."""
    if path.exists():
        return path.read_text().strip()
    _write_once(path, services.generate_password())
    return path.read_text().strip()


def _write_once(path: Path, secret: str, *, replace: bool = False) -> None:
    """Write `secret` to `path` with mode 0600; unless `replace`, the first writer wins."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret)
    try:
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


# --- API keys --------------------------------------------------------------------------------

@click.group()
def apikey() -> None:
    """API keys for programs (sales tools): create, list, revoke, rotate.

    A key is shown once, when it is made; only its SHA-256 is stored. Programs send it as
    `Authorization: Bearer <key>`. Scopes: configure, proposals, approve, catalog:read,
    content:admin.
    """


def _show_new_key(info: apikeys.KeyInfo, key: str) -> None:
    click.echo(f"created key {info.prefix} '{info.name}' with scopes "
               f"{' '.join(sorted(info.scopes))}"
               + (f", rate limit {info.rate_limit}" if info.rate_limit else ""), err=True)
    click.echo("the key (shown only now; keep it secret):", err=True)
    click.echo(key)


@apikey.command("create")
@click.option("--name", required=True, help="Who uses the key, e.g. crm-sync.")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(SCOPES),
              help="A scope the key has; repeat for several.")
@click.option("--rate-limit", default=None,
              help="Requests per period for this key, e.g. 6000/minute (default: the "
                   "service's API_RATE_LIMIT).")
@click.option("--created-by", default=None, help="Recorded with the key (default: $USER).")
@click.option("--user", "user_email", default=None, metavar="EMAIL",
              help="The user the key acts for: what it writes is recorded as theirs, and it "
                   "approves only as the approver roles they hold. Without it the key acts for "
                   "nobody and cannot approve.")
def apikey_create(name: str, scopes: tuple[str, ...], rate_limit: str | None,
                  created_by: str | None, user_email: str | None) -> None:
    """Create a key; the key alone goes to standard output, so
    `KEY=$(configurator apikey create ...)` works."""
    _migrate()
    with _session() as session:
        try:
            user_id = services.get_user(session, user_email).id if user_email else None
            info, key = apikeys.create(session, name, scopes, rate_limit=rate_limit,
                                       created_by=created_by or os.environ.get("USER"),
                                       user_id=user_id)
        except services.UserNotFound as exc:
            raise click.ClickException(f"{exc}; create the user first") from None
        except apikeys.ApiKeyInvalid as exc:
            raise _invalid(exc) from None
        session.commit()
    if user_id is None:
        click.echo("this key acts for no user: it cannot approve (give one with --user EMAIL)",
                   err=True)
    _show_new_key(info, key)


@apikey.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also revoked and expired keys.")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
def apikey_list(show_all: bool, as_json: bool) -> None:
    """List keys: prefix, status, scopes, rate limit, name, created (never the key)."""
    _migrate()
    with _session() as session:
        keys = apikeys.list_keys(session, include_inactive=show_all)
        users = {account.id: account.email for account in services.list_users(session)}
    if as_json:
        click.echo(json.dumps([key.as_dict() for key in keys], indent=2))
        return
    if not keys:
        click.echo("no API keys; create one with `configurator apikey create --name NAME "
                   "--scope configure`")
    for key in keys:
        status = key.status()
        if status == "expiring" and key.expires_at:
            status = f"expires {key.expires_at:%Y-%m-%d %H:%M} UTC"
        click.echo(f"{key.prefix}  {status:<8}  {' '.join(sorted(key.scopes)):<40}  "
                   f"{key.rate_limit or 'default':<12}  {key.name}  "
                   f"acts for {users.get(key.user_id, 'nobody')}  "
                   f"(created {key.created_at:%Y-%m-%d %H:%M} UTC"
                   + (f" by {key.created_by})" if key.created_by else ")"))


@apikey.command("revoke")
@click.argument("prefix")
def apikey_revoke(prefix: str) -> None:
    """Revoke the key with PREFIX (the 8 hex digits after `cfg_`) at once."""
    _migrate()
    with _session() as session:
        try:
            info = apikeys.revoke(session, prefix)
        except (apikeys.ApiKeyNotFound, apikeys.ApiKeyInvalid) as exc:
            raise _invalid(exc) from None
        session.commit()
    click.echo(f"revoked key {info.prefix} '{info.name}'; running servers refuse it within "
               "API_KEY_CACHE_SECONDS (default 5 s)")


@apikey.command("rotate")
@click.argument("prefix")
@click.option("--grace", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seconds the old key keeps working, so the program can switch over.")
def apikey_rotate(prefix: str, grace: int) -> None:
    """Replace the key with PREFIX by a new one with the same name, scopes and rate limit."""
    _migrate()
    with _session() as session:
        try:
            info, key, old = apikeys.rotate(session, prefix, grace=dt.timedelta(seconds=grace),
                                            created_by=os.environ.get("USER"))
        except (apikeys.ApiKeyNotFound, apikeys.ApiKeyInvalid) as exc:
            raise _invalid(exc) from None
        session.commit()
    when = (f"until {old.expires_at:%Y-%m-%d %H:%M:%S} UTC" if grace else "no longer")
    click.echo(f"old key {old.prefix} works {when}", err=True)
    _show_new_key(info, key)


@apikey.command("ensure-demo")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path),
              default=VAR_DIR / "demo-api-key", show_default=True,
              help="Where the demo key is kept between runs.")
def apikey_ensure_demo(key_file: Path) -> None:
    """Make sure the demo API key (every scope) works, and print it. Run by bin/serve so the
    README's curl examples work; not for production."""
    _migrate()
    with _session() as session:
        try:
            demo_user = services.get_user(session, DEMO_EMAIL).id
        except services.UserNotFound:
            demo_user = None
        kept = key_file.read_text().strip() if key_file.exists() else ""
        found = apikeys.authenticate(session, kept) if kept else None
        # a key made before a scope was added no longer has every scope: make a new one
        if found is not None and found.user_id == demo_user and found.scopes == set(SCOPES):
            key, done = kept, "kept"
        else:
            _, key = apikeys.create(session, "demo", SCOPES, created_by="bin/serve",
                                    user_id=demo_user)
            session.commit()
            _write_once(key_file, key, replace=True)
            done = "created"
    who = f"acts for {DEMO_EMAIL}" if demo_user else "acts for nobody"
    click.echo(f"Demo API key ({done}, every scope, {who}, kept in {key_file}): {key}")
