"""The `configurator` command: the only package that imports click.

- `main.py`: the group (`--content DIR`) and the content commands: check, test, configure, explain
- `impact.py`: `configurator impact --base REF`
- `db.py`: `configurator db ...` (migrations); `serve.py`: `configurator serve` (gunicorn)
- `users.py`: `configurator user ...` and `configurator apikey ...`
- `schemas.py`: `configurator schemas` (JSON Schemas for editors)
- `summary.py`: a configuration as text
"""
from __future__ import annotations

from . import db, impact, schemas, serve, users
from .main import cli

db.register(cli)
serve.register(cli)
schemas.register(cli)
impact.register(cli)
users.register(cli)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="configurator")


__all__ = ["cli", "main"]
