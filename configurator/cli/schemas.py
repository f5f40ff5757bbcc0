"""CLI commands about the content files themselves: `configurator schemas`.

`register(cli)` adds them to the main command group; the group's `--content DIR` arrives as
`ctx.obj["content"]`.
"""
from __future__ import annotations

from pathlib import Path

import click

from ..content.pack import content_root
from ..content.schemas import write_schemas


def register(cli: click.Group) -> None:
    cli.add_command(schemas)


@click.command()
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory to write into. Default: schemas/ in the content pack.")
@click.pass_context
def schemas(ctx: click.Context, out: Path | None) -> None:
    """Write the JSON Schemas that let editors complete and check content files."""
    directory = out if out is not None else content_root((ctx.obj or {}).get("content")) / "schemas"
    for path in write_schemas(directory):
        click.echo(f"wrote {path}")
    click.echo("Content files point to them with a first line such as "
               "`# yaml-language-server: $schema=../schemas/ruleset.schema.json`.")
