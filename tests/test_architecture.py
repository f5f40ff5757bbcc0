"""The house's rules, checked on every run: the import contracts in `.importlinter` (floors,
no cycles, each outside dependency in its one place), files of one job, and no hidden imports."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "configurator"
MAX_LINES = 450
# A project import inside a function is allowed only with its reason on the same line
# (start-up time, a child process, a worker process), as `# start-up time: ...`.
REASONS = ("start-up time", "child process", "in the worker")


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def test_every_import_contract_is_kept():
    """`lint-imports` (import-linter) with the repository's `.importlinter`."""
    done = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command;"
                           " lint_imports_command()", "--no-cache"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "BROKEN" not in done.stdout and "KEPT" in done.stdout


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_a_long_file_says_why_it_is_one_file(path: Path):
    lines = path.read_text().count("\n")
    if lines <= MAX_LINES:
        return
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    assert "one file" in docstring, (f"{path.relative_to(REPO)} has {lines} lines: split it by job, "
                                     "or say in its first docstring why it must be one file")


def test_project_imports_inside_functions_give_their_reason():
    hidden = []
    for path in _sources():
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.level or (inner.module or "")
                                                          .startswith("configurator")):
                    line = lines[inner.lineno - 1]
                    if not any(reason in line for reason in REASONS):
                        hidden.append(f"{path.relative_to(REPO)}:{inner.lineno}: {line.strip()}")
    assert hidden == []
