"""Read YAML 1.2 files keeping the line of every key and item, so problems can name them."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

MAX_FILE_BYTES = 1_000_000


class YamlSyntaxError(Exception):
    def __init__(self, line: int | None, message: str):
        self.line = line
        self.message = message
        super().__init__(message)


def _reader() -> YAML:
    # Round-trip mode keeps line numbers; it is YAML 1.2, so `NO`, `on`, `yes` stay strings,
    # and it never constructs Python objects from tags.
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def parse_yaml(text: str) -> Any:
    try:
        return _reader().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlSyntaxError(line, f"YAML syntax: {problem}") from None
    except YAMLError as exc:  # pragma: no cover - ruamel reports nearly everything as marked
        raise YamlSyntaxError(None, f"YAML syntax: {exc}") from None


def read_yaml(path: Path) -> Any:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise YamlSyntaxError(None, f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlSyntaxError(None, f"file is not UTF-8 text ({exc.reason})") from None
    return parse_yaml(text)


def line_of(node: Any, key: Any = None) -> int | None:
    """1-based line of `node`, or of `key` within a mapping / index within a sequence."""
    try:
        if key is None:
            return node.lc.line + 1
        if isinstance(node, CommentedMap):
            return node.lc.key(key)[0] + 1
        if isinstance(node, CommentedSeq):
            return node.lc.item(key)[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None
    return None


def plain(node: Any) -> Any:
    """Convert ruamel's containers and scalars to plain dicts, lists, str, int, float, bool."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, (dt.date, dt.datetime)):
        # YAML 1.2 has no timestamps, but ruamel still builds dates from `2026-01-31`
        return node.isoformat()
    raise YamlSyntaxError(None, f"YAML tags such as {getattr(node, 'tag', node)!s} are not allowed; "
                                "write plain values")
