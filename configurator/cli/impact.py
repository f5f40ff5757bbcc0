"""`configurator impact --base REF`: which customers' solutions a content change alters.

Every rule-test profile (of the working and the base pack) and every stored customer's latest
revision are configured with the base content and with the working content; the report lists the
customers whose configuration differs, how, and the rules responsible. It is a report: the exit
status is 0 whether or not customers are affected, 1 when either pack is broken.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from ..config import load_config, normalise_database_url
from ..content.gitref import BaseNotFound, base_content
from ..content.pack import content_root
from ..content.problems import ContentError
from ..engine.errors import EngineError
from ..engine.impact import Case, impact
from ..services.checks import check_pack
from ..store.profiles import read_latest_profiles

EXIT_CONTENT = 1
CASE_COLUMN_MAX = 60


def register(cli: click.Group) -> None:
    cli.add_command(impact_command)


def _set_content(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.ensure_object(dict)["content"] = value


def _valid_day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write yyyy-mm-dd") from None


@click.command("impact")
@click.option("--content", type=click.Path(file_okay=False, path_type=Path), default=None,
              expose_value=False, callback=_set_content,
              help="Content pack directory (overrides the group option).")
@click.option("--base", "base_ref", required=True, metavar="REF",
              help="The content to compare with: a directory, or a git revision (HEAD, a branch, "
                   "a tag, a commit) of the repository holding the content.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--no-database", is_flag=True, help="Only the rule-test customers; skip the "
                                                  "stored customers.")
@click.option("--database", "database_url", default=None, metavar="URL",
              help="Database holding the stored customers (default: DATABASE_URL, else the "
                   "local SQLite file).")
@click.option("--on", "day", default=None, metavar="YYYY-MM-DD", callback=_valid_day,
              help="Configure as of this day (default: today); rule tests with a date keep it.")
@click.pass_context
def impact_command(ctx: click.Context, base_ref: str, fmt: str, no_database: bool,
                   database_url: str | None, day: str | None) -> None:
    """Show which customers' solutions change between the base content REF and the working
    content: modules, quantities, totals and approvals, with the rules responsible."""
    root = content_root((ctx.obj or {}).get("content"))
    work, problems = check_pack(root)
    if work is None:
        _fail(f"The working content at {root} cannot be used:", problems)
    if no_database:
        stored, note = None, "not read (--no-database)"
    else:
        stored, note = _stored_profiles(database_url)
    try:
        with base_content(base_ref, root) as (base_root, base_label):
            base, problems = check_pack(base_root)
            if base is None:
                _fail(f"The base content ({base_label}) cannot be used:", problems)
            cases = collect_cases(base, work, stored or [])
            try:
                report = impact(base, work, cases, on=day)
            except ContentError as exc:
                _fail("The content cannot be compiled for the rules engine:", exc.problems)
            except EngineError as exc:
                click.echo(f"{exc}\nRun `configurator check` to find the rule.", err=True)
                raise SystemExit(EXIT_CONTENT)
    except BaseNotFound as exc:
        raise click.BadParameter(str(exc), param_hint="--base") from None
    data = report.as_dict()
    data["base"].update({"ref": base_ref, "source": base_label})
    data["work"].update({"root": str(root)})
    data["database"] = {"read": stored is not None, "note": note}
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(data))


def _fail(title: str, problems: list) -> None:
    click.echo(title, err=True)
    errors = [p for p in problems if p.severity == "error"]
    for problem in errors:
        click.echo(str(problem), err=True)
    click.echo(f"{len(errors)} error(s): run `configurator check` on it for details.", err=True)
    raise SystemExit(EXIT_CONTENT)


def _stored_profiles(url: str | None) -> tuple[list | None, str]:
    chosen = normalise_database_url(url) if url else load_config()["DATABASE_URL"]
    return read_latest_profiles(chosen)


def collect_cases(base: Any, work: Any, stored: list) -> list:
    """The rule-test customers of the working pack, then those only the base pack has (by name),
    then the stored customers."""
    cases, names = [], set()
    for pack, where in ((work, ""), (base, "base ")):
        for test in pack.tests:
            if test.name in names:
                continue
            names.add(test.name)
            cases.append(Case(f"test: {test.name}", "test", test.profile, tuple(test.adjustments),
                              test.date, f"{where}{test.file}:{test.line}"))
    for item in stored:
        cases.append(Case(f"customer: {item.customer} (configuration {item.configuration_id})",
                          "customer", item.profile, tuple(item.adjustments), None,
                          f"latest revision {item.revision}"))
    return cases


# --- text ------------------------------------------------------------------------------------

def _money(amount: Any) -> str:
    return f"{amount:,.2f}"


def _signed(amount: Any) -> str:
    return f"{'+' if amount > 0 else ''}{amount:,.2f}"


def _rule(rule: str, changed: dict[str, str]) -> str:
    return f"{rule} ({changed[rule]})" if rule in changed else rule


def _rules(rules: list[str], changed: dict[str, str]) -> str:
    if not rules:
        return ""
    return "  [" + ", ".join(_rule(r, changed) for r in rules) + "]"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def render_text(data: dict) -> str:
    cur = data["currency"]
    changes = data["content_changes"]
    changed_rules = {rule: word for kind, word in (("added", "new"), ("removed", "removed"),
                                                   ("edited", "changed"))
                     for rule in changes["rules"][kind]}
    out = [f"Impact of the working content {data['work']['version']} ({data['work']['root']})",
           f"  against the base {data['base']['version']} ({data['base']['source']}), "
           f"configured on {data['as_of']}"]
    described = [f"{what} {kind}: {', '.join(ids)}" for what in ("rules", "modules")
                 for kind, ids in changes[what].items() if ids]
    out.append("Content changes: " + ("; ".join(described) if described else
                                      "no rule or module changed (other files may have)"))
    out.append(f"Stored customers: {data['database']['note']}")
    out.append("")

    affected = data["affected"]
    if affected:
        header = ("case", "status", "modules", f"first year ({cur})", "approvals")
        rows = [header]
        for item in affected:
            status = (f"{item['status']['base']} -> {item['status']['work']}"
                      if item["status"] else "same")
            modules = f"+{len(item['modules_added'])} -{len(item['modules_removed'])}"
            first = item["totals"].get("first_year")
            first_year = (f"{_money(first['base'])} -> {_money(first['work'])} "
                          f"({_signed(first['change'])})" if first else "same")
            approvals = " ".join([f"+{a['role']}" for a in item["approvals_added"]] +
                                 [f"-{a['role']}" for a in item["approvals_removed"]]) or "same"
            rows.append((_short(item["case"], CASE_COLUMN_MAX), status, modules, first_year,
                         approvals))
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for index, row in enumerate(rows):
            out.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
            if index == 0:
                out.append("  ".join("-" * width for width in widths))
        for item in affected:
            out.append("")
            out += _details(item, changed_rules)
    else:
        out.append("No customer's solution changes.")
    for item in data["skipped"]:
        out.append("")
        where = f" ({item['source']})" if item["source"] else ""
        out.append(f"{item['case']}{where}: cannot be configured with either content")
        for side, error in item["errors"].items():
            out.append(f"  {side}: {error}")
    summary = data["summary"]
    kinds = summary["by_kind"]
    parts = []
    for kind, name in (("test", "rule-test customers"), ("customer", "stored customers")):
        count = kinds.get(kind, {"cases": 0, "affected": 0})
        parts.append(f"{count['affected']} of {count['cases']} {name}")
    out.append("")
    out.append(f"{summary['affected']} of {summary['cases']} customers affected "
               f"({', '.join(parts)})")
    return "\n".join(out)


def _details(item: dict, changed: dict[str, str]) -> list[str]:
    out = [f"{item['case']}  ({item['source']})" if item["source"] else item["case"]]
    for side, error in item["errors"].items():
        name = "base" if side == "base" else "working"
        out.append(f"  cannot be configured with the {name} content: {error}")
    if item["status"]:
        out.append(f"  status: {item['status']['base']} -> {item['status']['work']}")
    for entry in item["modules_added"]:
        out.append(f"  added: {entry['module']} x {entry['quantity']} = {_money(entry['total'])} "
                   f"{entry['billing']}{_rules(entry['rules'], changed)}")
    for entry in item["modules_removed"]:
        out.append(f"  removed: {entry['module']} x {entry['quantity']} = "
                   f"{_money(entry['total'])} {entry['billing']}{_rules(entry['rules'], changed)}")
    for entry in item["quantities"]:
        out.append(f"  quantity: {entry['module']} {entry['base']} -> {entry['work']}"
                   f"{_rules(entry['rules'], changed)}")
    for entry in item["line_totals"]:
        extra = ""
        percent = entry["discount_percent"]
        if percent["base"] != percent["work"]:
            extra = f", discount {percent['base']}% -> {percent['work']}%"
        if "unit_price" in entry:
            extra += (f", unit price {_money(entry['unit_price']['base'])} -> "
                      f"{_money(entry['unit_price']['work'])}")
        out.append(f"  line total: {entry['module']} {_money(entry['base'])} -> "
                   f"{_money(entry['work'])} {entry['billing']} ({_signed(entry['change'])}"
                   f"{extra}){_rules(entry['rules'], changed)}")
    if item["totals"]:
        out.append("  totals: " + "; ".join(
            f"{key.replace('_', ' ')} {_money(t['base'])} -> {_money(t['work'])} "
            f"({_signed(t['change'])})" for key, t in item["totals"].items()))
    for entry in item["approvals_added"]:
        out.append(f"  approval added: {entry['role']}: {'; '.join(entry['reasons'])}"
                   f"{_rules(entry['rules'], changed)}")
    for entry in item["approvals_removed"]:
        out.append(f"  approval removed: {entry['role']}: {'; '.join(entry['reasons'])}"
                   f"{_rules(entry['rules'], changed)}")
    for entry in item["approvals_changed"]:
        out.append(f"  approval reasons: {entry['role']}: {'; '.join(entry['base'])} -> "
                   f"{'; '.join(entry['work'])}{_rules(entry['rules'], changed)}")
    if item["fired_only_in_base"]:
        out.append(f"  fired only with the base content: {', '.join(item['fired_only_in_base'])}")
    if item["fired_only_in_work"]:
        out.append("  fired only with the working content: "
                   f"{', '.join(item['fired_only_in_work'])}")
    if item["other"]:
        out.append(f"  also changed: {', '.join(item['other'])}")
    if item["rules"]:
        out.append("  rules responsible: " + ", ".join(_rule(r, changed) for r in item["rules"]))
    return out
