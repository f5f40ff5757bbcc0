"""Read YAML 1.2 files keeping the line of every key and item, so problems can name them.

Two readers give the same result:
- the fast one: libyaml (PyYAML's C parser) composes the node tree, and the values are built here
  with ruamel.yaml's own YAML 1.2 resolver rules (`NO`, `on`, `yes` stay strings; no timestamps
  beyond plain dates; no Python objects from tags). About 20x faster than ruamel's round trip;
- ruamel.yaml's round-trip reader, used for everything the fast one does not take on: a syntax
  error (so messages and lines stay exactly ruamel's), directives (`%YAML 1.1`), explicit tags,
  merge keys (`<<`), complex keys, duplicate keys, or PyYAML built without libyaml.

Parsed files are also kept with their text, so reloading a pack parses only the files that
changed.
"""
from __future__ import annotations

import copy
import datetime as dt
import re
import threading
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


def _parse_ruamel(text: str) -> Any:
    try:
        return _reader().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlSyntaxError(line, f"YAML syntax: {problem}") from None
    except YAMLError as exc:  # pragma: no cover - ruamel reports nearly everything as marked
        raise YamlSyntaxError(None, f"YAML syntax: {exc}") from None


def parse_yaml(text: str) -> Any:
    if _FAST:
        try:
            return _parse_fast(text)
        except _NotFast:
            pass
    return _parse_ruamel(text)


_CACHE: dict[str, tuple[str, Any]] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_FILES = 2000


def read_yaml(path: Path) -> Any:
    """The file's document. A file whose text has not changed since the last read is not parsed
    again: the same document comes back, so callers must not change what they get (they read
    it, or `plain()` it, which copies)."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise YamlSyntaxError(None, f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlSyntaxError(None, f"file is not UTF-8 text ({exc.reason})") from None
    key = str(path.resolve())
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is not None and cached[0] == text:
        return cached[1]
    doc = parse_yaml(text)
    with _CACHE_LOCK:
        _CACHE.pop(key, None)
        if len(_CACHE) >= _CACHE_FILES:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = (text, doc)
    return doc


def line_of(node: Any, key: Any = None) -> int | None:
    """1-based line of `node`, or of `key` within a mapping / index within a sequence."""
    try:
        if key is None:
            return node.lc.line + 1
        if isinstance(node, (CommentedMap, LineMap)):
            return node.lc.key(key)[0] + 1
        if isinstance(node, (CommentedSeq, LineSeq)):
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


# --- the fast reader ----------------------------------------------------------------------------

class _Lines:
    """Where a mapping's keys or a sequence's items start (0-based line, column), as ruamel's `lc`."""
    __slots__ = ("line", "col", "data")

    def __init__(self, line: int, col: int):
        self.line, self.col = line, col
        self.data: dict = {}

    def key(self, key: Any) -> tuple[int, int]:
        return self.data[key][:2]

    def value(self, key: Any) -> tuple[int, int]:
        return self.data[key][2:]

    def item(self, index: int) -> tuple[int, int]:
        return self.data[index]


class LineMap(dict):
    """A mapping read from YAML that knows the line of each key (`line_of`)."""
    __slots__ = ("lc",)

    def __deepcopy__(self, memo: dict) -> "LineMap":
        out = LineMap((copy.deepcopy(k, memo), copy.deepcopy(v, memo)) for k, v in self.items())
        out.lc = self.lc
        return out


class LineSeq(list):
    """A sequence read from YAML that knows the line of each item (`line_of`)."""
    __slots__ = ("lc",)

    def __deepcopy__(self, memo: dict) -> "LineSeq":
        out = LineSeq(copy.deepcopy(v, memo) for v in self)
        out.lc = self.lc
        return out


class _NotFast(Exception):
    """Something the fast reader leaves to ruamel."""


try:
    from yaml import MappingNode, ScalarNode, SequenceNode
    from yaml import YAMLError as _PyYAMLError
    from yaml._yaml import CParser
    _FAST = True
except ImportError:  # pragma: no cover - PyYAML without libyaml: ruamel alone
    _FAST = False


def _resolvers() -> dict[str, list[tuple[str, re.Pattern]]]:
    """ruamel.yaml's YAML 1.2 implicit resolvers, by first character (as ruamel looks them up)."""
    from ruamel.yaml.resolver import implicit_resolvers

    table: dict[str, list[tuple[str, re.Pattern]]] = {}
    for versions, tag, regexp, first in implicit_resolvers:
        if (1, 2) not in versions:
            continue
        for ch in first:
            table.setdefault(ch, []).append((tag.rsplit(":", 1)[-1], regexp))
    return table


_BY_FIRST = _resolvers() if _FAST else {}
_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_PLAIN, _MAP, _SEQ = "!plain", "!map", "!seq"


def _tag_of(value: str) -> str:
    """The YAML 1.2 core-schema type of a plain (unquoted) scalar, as ruamel resolves it."""
    for tag, regexp in _BY_FIRST.get(value[:1], ()):
        if regexp.match(value):
            return tag
    return "str"


def _scalar(node: Any) -> Any:
    value = node.value
    if node.tag != _PLAIN:
        if node.tag == "!quoted":
            return value
        raise _NotFast        # an explicit tag
    tag = _tag_of(value)
    if tag == "str":
        return value
    if tag == "null":
        return None
    if tag == "bool":
        return value in ("true", "True", "TRUE")
    if tag == "int":
        return _int(value)
    if tag == "float":
        return _float(value)
    if tag == "timestamp":
        match = _DATE.match(value)
        if match is None:
            raise _NotFast    # date and time: ruamel's TimeStamp
        return dt.date(*map(int, match.groups()))
    raise _NotFast            # merge key, `=`


def _int(text: str) -> int:
    digits = text.replace("_", "")
    sign = -1 if digits[:1] == "-" else 1
    digits = digits.lstrip("+-")
    if not digits:
        raise _NotFast
    if digits.startswith("0b"):
        return sign * int(digits[2:], 2)
    if digits.startswith("0x"):
        return sign * int(digits[2:], 16)
    if digits.startswith("0o"):
        return sign * int(digits[2:], 8)
    return sign * int(digits)            # YAML 1.2: a leading 0 is not octal


def _float(text: str) -> float:
    digits = text.replace("_", "").lower()
    sign = -1.0 if digits[:1] == "-" else 1.0
    digits = digits.lstrip("+-")
    if digits == ".inf":
        return sign * float("inf")
    if digits == ".nan":
        return float("nan")
    return sign * float(digits)


if _FAST:
    class _Composer(CParser):
        """libyaml's composer; tags resolved to markers, values built by `_build`."""

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            pass

        def ascend_resolver(self) -> None:
            pass

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is ScalarNode:
                return _PLAIN if implicit[0] else "!quoted"
            return _MAP if kind is MappingNode else _SEQ


_DIRECTIVE = re.compile(r"^%", re.M)


def _parse_fast(text: str) -> Any:
    if _DIRECTIVE.search(text):
        raise _NotFast                 # `%YAML 1.1` changes what scalars mean: ruamel's job
    parser = _Composer(text)
    try:
        node = parser.get_single_node()
    except _PyYAMLError:
        raise _NotFast from None       # ruamel reports the error, with its own line and words
    finally:
        parser.dispose()
    if node is None:
        return None
    return _build(node, {})


def _build(node: Any, memo: dict) -> Any:
    known = memo.get(id(node))
    if known is not None:
        return known                   # an alias: the same object, as ruamel gives
    cls = node.__class__
    if cls is ScalarNode:
        return _value(node)
    mark = node.start_mark
    if cls is MappingNode:
        if node.tag != _MAP:
            raise _NotFast
        out = LineMap()
        lines = out.lc = _Lines(mark.line, mark.column)
        memo[id(node)] = out
        data = lines.data
        for key_node, value_node in node.value:
            if key_node.__class__ is not ScalarNode:
                raise _NotFast         # a complex key
            key = _value(key_node)
            if key in out or key == "<<" and key_node.tag == _PLAIN:
                raise _NotFast         # a duplicate key (ruamel's error) or a merge key
            if value_node.__class__ is ScalarNode:
                out[key] = _value(value_node)
            else:
                out[key] = _build(value_node, memo)
            km, vm = key_node.start_mark, value_node.start_mark
            data[key] = (km.line, km.column, vm.line, vm.column)
        return out
    if node.tag != _SEQ:
        raise _NotFast
    seq = LineSeq()
    seq.lc = _Lines(mark.line, mark.column)
    memo[id(node)] = seq
    items = seq.lc.data
    for index, child in enumerate(node.value):
        seq.append(_value(child) if child.__class__ is ScalarNode else _build(child, memo))
        cm = child.start_mark
        items[index] = (cm.line, cm.column)
    return seq


def _value(node: Any) -> Any:
    """A scalar's value; the common case (text that no YAML 1.2 type claims) first."""
    value = node.value
    if node.tag == _PLAIN and value[:1] not in _BY_FIRST:
        return value
    return _scalar(node)
