"""The `configurator` command group and the content commands: check, test, configure, explain."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..content.adjustments import AdjustmentInvalid, parse_adjustments
from ..content.pack import content_root
from ..content.problems import ContentError, Problem
from ..content.profile import ProfileInvalid
from ..content.rules import suggest
from ..content.yamlfile import YamlSyntaxError, plain, read_yaml
from ..engine.errors import EngineError
from ..engine.explain import explain as run_explain
from ..engine.pipeline import Pipeline
from ..engine.ruletests import run_rule_tests
from ..proposals import ProposalInput, ProposalInvalid, RenderFailed, TemplateBroken
from ..proposals.render import revision_time
from ..services.checks import check_content, check_pack
from ..services.configurations import configure as run_configure
from ..services.rendering import render_proposal
from .summary import summary

EXIT_CONTENT = 1     # the content pack is broken
EXIT_INPUT = 2       # the profile or adjustments given are not valid


class InputError(click.ClickException):
    exit_code = EXIT_INPUT


def _pack_or_exit(ctx: click.Context):
    pack, problems = check_pack(ctx.obj["content"])
    if pack is None:
        _print_problems(problems)
        raise SystemExit(EXIT_CONTENT)
    return pack


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if errors:
        click.echo(f"{errors} error(s), {warnings} warning(s): the content pack cannot be used.",
                   err=True)


def _set_content(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.ensure_object(dict)["content"] = value


def content_option(command):
    """`--content DIR` after the command name too: `configurator test --content DIR`."""
    return click.option("--content", type=click.Path(file_okay=False, path_type=Path),
                        default=None, expose_value=False, callback=_set_content,
                        help="Content pack directory (overrides the group option).")(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--content", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="CONFIGURATOR_CONTENT",
              help="Content pack directory (catalog/, rules/, proposals/). "
                   "Default: $CONFIGURATOR_CONTENT, else the demo pack.")
@click.pass_context
def cli(ctx: click.Context, content: Path | None) -> None:
    """Rules-driven solution configurator."""
    ctx.ensure_object(dict)
    ctx.obj["content"] = content


@cli.command()
@content_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--no-trial", is_flag=True, help="Skip the trial run of the rules engine.")
@click.pass_context
def check(ctx: click.Context, fmt: str, no_trial: bool) -> None:
    """Validate the content pack: every problem with file:line and how to fix it."""
    checked = check_content(ctx.obj["content"], trial=not no_trial)
    pack, problems, errors = checked.pack, checked.problems, checked.errors
    if fmt == "json":
        click.echo(json.dumps({"ok": not errors, "root": str(content_root(ctx.obj["content"])),
                               "version": pack.version if pack else None,
                               "problems": [p.as_dict() for p in problems]}, indent=2))
    elif errors:
        _print_problems(problems)
    else:
        for problem in problems:   # only warnings here: shown on stderr, exit 0, stdout is "OK"
            click.echo(str(problem), err=True)
        stages = {r.stage for r in pack.rules}
        click.echo(f"OK: content {pack.version}: {len(pack.catalog.modules)} modules in "
                   f"{len(pack.catalog.families)} families, {len(pack.rules)} rules in "
                   f"{len(stages)} stages, {len(pack.tests)} rule tests.")
    raise SystemExit(EXIT_CONTENT if errors else 0)


@cli.command("test")
@content_option
@click.option("-k", "select", default=None, help="Run only tests whose name contains this text.")
@click.option("-v", "--verbose", is_flag=True, help="List passing tests too.")
@click.pass_context
def test_command(ctx: click.Context, select: str | None, verbose: bool) -> None:
    """Run the example customers in rules/tests/ and show every difference."""
    pack = _pack_or_exit(ctx)
    pipeline = _pipeline_or_exit(pack, include_drafts=True)
    try:
        results = run_rule_tests(pipeline, select=select)
    except EngineError as exc:
        click.echo(f"{exc}\nRun `configurator check` to find the rule.", err=True)
        raise SystemExit(EXIT_CONTENT)
    failed = [r for r in results if not r.passed]
    for result in results:
        where = f"{result.test.file}:{result.test.line}"
        if result.passed:
            if verbose:
                click.echo(f"PASS  {result.test.name}  ({where})")
            continue
        click.echo(f"FAIL  {result.test.name}  ({where})")
        for difference in result.differences:
            click.echo(f"      - {difference}")
    fired = {e["rule"] for r in results if r.document for e in r.document["fired"]}
    unfired = [r for r in pack.rules if r.id not in fired]
    if unfired and not select:
        click.echo(f"Coverage: {len(pack.rules) - len(unfired)} of {len(pack.rules)} rules fired "
                   f"in some test; these fired in none:")
        for rule in unfired:
            click.echo(f"  {rule.id}  ({rule.file}:{rule.line})")
    elif not select:
        click.echo(f"Coverage: all {len(pack.rules)} rules fired in some test.")
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    raise SystemExit(1 if failed else 0)


def _pipeline_or_exit(pack, include_drafts: bool = False):
    try:
        return Pipeline(pack, include_drafts=include_drafts)
    except ContentError as exc:
        _print_problems(exc.problems)
        raise SystemExit(EXIT_CONTENT)
    except EngineError as exc:
        click.echo(f"{exc}\nRun `configurator check` to find the rule.", err=True)
        raise SystemExit(EXIT_CONTENT)


def read_profile_file(path: Path) -> tuple[Any, Any]:
    """(profile, adjustments) from a YAML or JSON file holding a profile, or {profile, adjustments}."""
    try:
        data = plain(read_yaml(path))
    except YamlSyntaxError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise InputError(f"{where}: {exc.message}") from None
    if isinstance(data, dict) and isinstance(data.get("profile"), dict):
        extra = set(data) - {"profile", "adjustments"}
        if extra:
            raise InputError(f"{path}: unknown top-level key(s) {', '.join(sorted(extra))}; "
                                       "expected a profile, or `profile:` and `adjustments:`")
        return data["profile"], data.get("adjustments") or []
    return data, []


@cli.command()
@content_option
@click.argument("profile_file", metavar="PROFILE.yaml",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print exactly the configuration document.")
@click.option("--adjustments", "adjustments_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML/JSON list of adjustments to apply.")
@click.option("--pdf", "pdf_file", default=None, metavar="OUT.pdf",
              type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Also render the PDF proposal to OUT.pdf (a DRAFT while approvals are needed).")
@click.option("--language", default="en", show_default=True,
              help="Language of the PDF proposal (the template's messages: en, zh).")
@click.pass_context
def configure(ctx: click.Context, profile_file: Path, as_json: bool,
              adjustments_file: Path | None, pdf_file: Path | None, language: str) -> None:
    """Configure a solution for the profile in PROFILE.yaml."""
    profile, adjustments = read_profile_file(profile_file)
    if adjustments_file is not None:
        try:
            adjustments = plain(read_yaml(adjustments_file))
        except YamlSyntaxError as exc:
            raise InputError(f"{adjustments_file}:{exc.line}: {exc.message}") from None
    pack = _pack_or_exit(ctx)
    pipeline = _pipeline_or_exit(pack)
    try:
        document = run_configure(pipeline, profile, adjustments)
    except EngineError as exc:
        click.echo(f"{exc}\nRun `configurator check` to find the rule.", err=True)
        raise SystemExit(EXIT_CONTENT)
    except (ProfileInvalid, AdjustmentInvalid) as exc:
        prefix = "profile." if isinstance(exc, ProfileInvalid) else ""
        for field, messages in exc.errors.items():
            click.echo(f"{profile_file}: {prefix}{field}: {' '.join(messages)}", err=True)
        raise SystemExit(EXIT_INPUT)
    if as_json:
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        click.echo(summary(document, profile.get("name", "") if isinstance(profile, dict) else ""))
    if pdf_file is not None:
        _write_proposal(pipeline, profile, adjustments, document, pdf_file, language,
                        quiet=as_json)


def _write_proposal(pipeline, profile: dict, adjustments: Any, document: dict, out: Path,
                    language: str, quiet: bool) -> None:
    """`configure --pdf`: the proposal of an unsaved configuration (revision 1, dated now)."""
    source = ProposalInput(customer=str(profile.get("name", "")), configuration_id=None,
                           revision=1, created_at=revision_time(), profile=profile,
                           adjustments=list(adjustments or []), document=document)
    try:
        rendered = render_proposal(pipeline, source, language=language)
    except ProposalInvalid as exc:
        raise InputError("; ".join(f"--{k}: {' '.join(v)}" for k, v in exc.errors.items()))
    except (TemplateBroken, RenderFailed) as exc:
        click.echo(f"error: the proposal could not be rendered: {exc}", err=True)
        raise SystemExit(EXIT_CONTENT)
    out.write_bytes(rendered.pdf)
    state = ("final" if not rendered.draft else "DRAFT, approvals outstanding"
             if source.outstanding else "DRAFT, conflicts to resolve")
    click.echo(f"Proposal written to {out} ({rendered.pages} pages, {state}).", err=quiet)


@cli.command()
@content_option
@click.argument("profile_file", metavar="PROFILE.yaml",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--rule", "only", default=None, help="Explain only this rule.")
@click.option("--date", "day", default=None, help="Configure as on this day (yyyy-mm-dd).")
@click.pass_context
def explain(ctx: click.Context, profile_file: Path, fmt: str, only: str | None,
            day: str | None) -> None:
    """Why each rule fired or not for PROFILE.yaml, and near misses."""
    profile, adjustments = read_profile_file(profile_file)
    pack = _pack_or_exit(ctx)
    if only and only not in {r.id for r in pack.rules}:
        raise InputError(f"no rule `{only}` in the pack. {suggest(only, [r.id for r in pack.rules])}")
    pipeline = _pipeline_or_exit(pack, include_drafts=True)
    try:
        clean = pack.profile.validate(profile)
        changes = parse_adjustments(adjustments, pack.catalog)
    except (ProfileInvalid, AdjustmentInvalid) as exc:
        prefix = "profile." if isinstance(exc, ProfileInvalid) else ""
        for field, messages in exc.errors.items():
            click.echo(f"{profile_file}: {prefix}{field}: {' '.join(messages)}", err=True)
        raise SystemExit(EXIT_INPUT)
    result = run_explain(pipeline, clean, changes, on=day, only=only)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    doc = result["document"]
    click.echo(f"{clean.get('name', '')}: status {doc['status']}  (content "
               f"{doc['content_version']}, as of {result['as_of']})")
    stage = None
    for item in result["rules"]:
        if item["stage"] != stage:
            stage = item["stage"]
            click.echo(f"\n{stage}")
        mark = "fired  " if item["fired"] else "not    "
        detail = item["effects"] if item["fired"] else item["why"]
        click.echo(f"  {mark}{item['rule']:<34} {detail}")
    if result["near_misses"]:
        click.echo("\nNear misses")
        for miss in result["near_misses"]:
            click.echo(f"  {miss['text']}")
