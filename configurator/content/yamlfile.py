"""Read YAML 1.2 files keeping the line of every key and item, so problems can name them.

libyaml (PyYAML's C parser) composes the node tree; the values are built here with YAML 1.2's
rules (`NO`, `on`, `yes` stay strings; `2026-01-31` is a date; no Python objects from tags:
yamlscalar.py says what a plain scalar means).
Parsed files are also kept with their text, so reloading a pack parses only the files that
changed.

Hostile input is refused before it can cost much, each time with the line and what to do
(docs/content-format.md, "Limits and refused input"): a file over MAX_FILE_BYTES (checked before
it is read) or that is not a regular file; bytes that are not UTF-8; characters YAML does not
allow (NUL and other control characters); aliases (`*name`: a few lines of them expand
exponentially, the "billion laughs"); tags (`!!python/object/apply:...`, `!!str`, `!custom`);
merge keys (`<<`); nesting deeper than MAX_DEPTH (Python's recursion limit); numbers longer than
yamlscalar.MAX_NUMBER_CHARS characters (Python refuses to convert them).

Also refused, with how to write it instead, is what content never needs and this reader does
not take on: directives (`%YAML 1.1` would change what scalars mean), a list or mapping as a
key, a date with a time, a plain `=` or `<<` as a value, a number with no digits (`0x_`) and a
date that does not exist (`2026-02-30`).
"""
from __future__ import annotations

import copy
import datetime as dt
import operator
import re
import stat
import threading
from pathlib import Path
from typing import Any

from yaml import MappingNode, ScalarNode
from yaml import YAMLError as _PyYAMLError
from yaml._yaml import CParser       # libyaml's parser (PyYAML's wheels include it)

from .yamlscalar import TYPED_FIRST, ScalarRefused, plain_value

MAX_FILE_BYTES = 2_000_000     # a stage at its 4,000-rule maximum in one file is about 1.2 MB
MAX_DEPTH = 32                 # levels of nesting; the demo pack needs 10
MAX_MESSAGE_CHARS = 300        # of a quoted value in a message
# what YAML 1.2 allows in a file: tab, line breaks, printable characters (so no NUL, no other
# control characters, no lone surrogates)
_NOT_ALLOWED = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class YamlSyntaxError(Exception):
    def __init__(self, line: int | None, message: str):
        self.line = line
        self.message = shorten(message, 2 * MAX_MESSAGE_CHARS)
        super().__init__(self.message)


def shorten(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text`, cut to about `limit` characters (a 1 MB key must not make a 1 MB message)."""
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _line_at(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _long_key(text: str, line: int | None, problem: str) -> str:
    """A hint for YAML's 1,024-character limit on a key, which libyaml reports as a misplaced
    `:`."""
    if line is None or ("mapping values" not in problem and "':'" not in problem):
        return ""
    lines = text.split("\n", line)
    if line - 1 < len(lines) and len(lines[line - 1]) > 1024:
        return " (a key may be at most 1,024 characters long)"
    return ""


_ALIAS = ("YAML anchors and aliases (`&name` ... `*name`) are not allowed in content files (a "
          "few lines of them can expand to billions of values); write the value out in full")
_MERGE = "YAML merge keys (`<<`) are not allowed in content files; write the keys out in full"
_DEPTH = (f"nested more than {MAX_DEPTH} levels deep; content files need far fewer "
          "(split the condition, or check for a run of unclosed [ or {)")


def _tag_message(tag: str) -> str:
    shown = tag.replace("tag:yaml.org,2002:", "!!")
    return (f"YAML tags such as `{shorten(shown, 60)}` are not allowed in content files; write "
            "plain values (quote a text that starts with !)")


def _check_characters(text: str) -> None:
    bad = _NOT_ALLOWED.search(text)
    if bad is not None:
        code = ord(bad.group())
        what = "a NUL character" if code == 0 else f"the character U+{code:04X}"
        raise YamlSyntaxError(_line_at(text, bad.start()),
                              f"{what} is not allowed in YAML (control characters are not "
                              "text); remove it, or check that the file is a text file")


def parse_yaml(text: str) -> Any:
    _check_characters(text)
    _refuse_directives(text)
    return _parse(text)


_CACHE: dict[str, tuple[str, Any]] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_FILES = 2000


def read_yaml(path: Path) -> Any:
    """The file's document. A file whose text has not changed since the last read is not parsed
    again: the same document comes back, so callers must not change what they get (they read
    it, or `plain()` it, which copies)."""
    return read_yaml_file(path)[0]


def read_yaml_file(path: Path) -> tuple[Any, bytes]:
    """The file's document (as `read_yaml`) and the bytes it was read from: a content pack's
    version is the digest of exactly what was parsed, even if the file changes meanwhile."""
    data = read_bytes(path)
    return _document(path, decode_text(data)), data


def _document(path: Path, text: str) -> Any:
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


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """A content file's bytes: a regular file of at most `limit` bytes (checked before it is
    read, and again while reading, in case it grows); `decode_text` makes them text."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise YamlSyntaxError(None, "is not a regular file (a folder, pipe or device); "
                                  "content files are plain text files")
        if info.st_size > limit:
            raise YamlSyntaxError(None, f"the file is {info.st_size:,} bytes; a content file may "
                                  f"have at most {limit:,}: split it into several files")
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise YamlSyntaxError(None, f"the file cannot be read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise YamlSyntaxError(None, f"the file has more than {limit:,} bytes; a content file "
                              f"may have at most {limit:,}: split it into several files")
    return data


def decode_text(data: bytes) -> str:
    """UTF-8 text, or a YamlSyntaxError naming the line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise YamlSyntaxError(line, f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} "
                              f"at this line: {exc.reason}); save it as UTF-8") from None


def line_of(node: Any, key: Any = None) -> int | None:
    """1-based line of `node`, or of `key` within a mapping / index within a sequence."""
    cls = node.__class__
    try:
        if cls is LineMap:
            return node.line if key is None else node.key_lines.get(key)
        if cls is LineSeq:
            if key is None:
                return node.line
            lines = node.item_lines
            return lines[key] if isinstance(key, int) and 0 <= key < len(lines) else None
    except TypeError:            # an unhashable key
        return None
    return None


def key_lines(node: Any) -> dict:
    """The 1-based line of each key of a mapping, as `line_of(node, key)`, for a loop over its
    keys (a key whose line is not known is left out). The mapping's own: do not change it."""
    return node.key_lines if node.__class__ is LineMap else {}


def item_lines(node: Any) -> list:
    """The 1-based line of each item of a sequence, as `line_of(node, index)`, for a loop over
    its items. The sequence's own: do not change it."""
    return node.item_lines if node.__class__ is LineSeq else [None] * len(node)


def plain(node: Any) -> Any:
    """A document as plain dicts, lists, str, int, float, bool and None (dates as text)."""
    cls = node.__class__
    if cls is str or cls is int or cls is float or cls is bool or node is None:
        return node
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, dt.date):
        return node.isoformat()
    raise YamlSyntaxError(None, f"a value of type {type(node).__name__} is not allowed; "
                                "write plain values")


# --- the reader ---------------------------------------------------------------------------------

class LineMap(dict):
    """A mapping read from YAML that knows its own line and the line of each key (`line_of`);
    lines are 1-based."""
    __slots__ = ("line", "key_lines")

    def __deepcopy__(self, memo: dict) -> "LineMap":
        out = LineMap((copy.deepcopy(k, memo), copy.deepcopy(v, memo)) for k, v in self.items())
        out.line, out.key_lines = self.line, self.key_lines
        return out


class LineSeq(list):
    """A sequence read from YAML that knows its own line and the line of each item (`line_of`);
    lines are 1-based."""
    __slots__ = ("line", "item_lines")

    def __deepcopy__(self, memo: dict) -> "LineSeq":
        out = LineSeq(copy.deepcopy(v, memo) for v in self)
        out.line, out.item_lines = self.line, self.item_lines
        return out


# What `_Composer.resolve` puts in a node's tag when the file gave none (a tag the file gives is
# always a str, so it is never taken for one of these). _TEXT: a quoted scalar, or a plain one
# that no YAML 1.2 type claims by its first character (its value is the text itself); _PLAIN: a
# plain scalar to resolve (null, bool, number, date).
_TEXT, _PLAIN, _MAP, _SEQ = object(), object(), object(), object()


def _scalar(node: Any) -> Any:
    if node.tag is not _PLAIN:
        if node.tag is _TEXT:
            return node.value
        raise YamlSyntaxError(node.start_mark.line + 1, _tag_message(node.tag))
    try:
        return plain_value(node.value)
    except ScalarRefused as exc:
        raise YamlSyntaxError(node.start_mark.line + 1, exc.message) from None


class _Composer(CParser):
    """libyaml's composer; tags resolved to markers, values built by `_build`."""

    # Called around every node; nothing to do here (the resolver's path tracking is not
    # used). C functions that do nothing, as a Python method each would cost a call per node
    # (a builtin is not bound to the instance: `descend_resolver(node, index)` is
    # `operator.is_(node, index)`, `ascend_resolver()` is `tuple()`).
    descend_resolver = operator.is_
    ascend_resolver = tuple

    def resolve(self, kind: Any, value: Any, implicit: Any) -> object:
        if kind is ScalarNode:
            return _PLAIN if implicit[0] and value[:1] in TYPED_FIRST else _TEXT
        return _MAP if kind is MappingNode else _SEQ


# a directive (`%YAML 1.1`, `%TAG ...`): a line starting with `%` before anything but blank and
# comment lines (where else a `%` starts a line, it is part of a value, or a syntax error)
_DIRECTIVE = re.compile(r"\A\ufeff?(?:[ \t]*(?:#[^\r\n]*)?\r?\n)*%")


def _refuse_directives(text: str) -> None:
    match = _DIRECTIVE.match(text)
    if match is not None:
        raise YamlSyntaxError(_line_at(text, match.end() - 1),
                              "YAML directives (`%YAML`, `%TAG`) are not supported in content "
                              "files: they are read as YAML 1.2; remove the line")


def _parse(text: str) -> Any:
    parser = _Composer(text)
    try:
        node = parser.get_single_node()
    except _PyYAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
        if mark is None or not problem:  # pragma: no cover - libyaml marks every error
            raise YamlSyntaxError(None, f"YAML syntax: {shorten(exc)}") from None
        line = mark.line + 1
        if "nesting depth" in problem:
            raise YamlSyntaxError(line, _DEPTH) from None
        raise YamlSyntaxError(line, f"YAML syntax: {problem}{_long_key(text, line, problem)}") \
            from None
    finally:
        parser.dispose()
    if node is None:
        return None
    if node.__class__ is ScalarNode:
        return node.value if node.tag is _TEXT else _scalar(node)
    # an alias is the anchored node itself, met again; there is none without an anchor (`&`)
    return _build(node, 1, set() if "&" in text and "*" in text else None)


def _build(node: Any, depth: int, seen: set[int] | None = None) -> Any:
    """The value of a node: a mapping or a sequence, or with `seen` any node.

    `seen` is for a file that may hold aliases (it has an anchor): the ids of the nodes met so
    far; an alias is the anchored node itself, met again, and is refused where it is met.
    Without it (most files) scalars are read in place, the fast way."""
    if seen is not None:
        if id(node) in seen:
            raise YamlSyntaxError(node.start_mark.line + 1, _ALIAS)
        seen.add(id(node))
        if node.__class__ is ScalarNode:
            return node.value if node.tag is _TEXT else _scalar(node)
    mark = node.start_mark
    if depth > MAX_DEPTH:
        raise YamlSyntaxError(mark.line + 1, _DEPTH)
    if node.__class__ is MappingNode:
        if node.tag is not _MAP:
            raise YamlSyntaxError(mark.line + 1, _tag_message(node.tag))
        out = LineMap()
        out.line = mark.line + 1
        lines = out.key_lines = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is not ScalarNode:
                raise YamlSyntaxError(key_node.start_mark.line + 1, _COMPLEX_KEY)
            tag = key_node.tag
            if tag is _PLAIN and key_node.value == "<<":
                raise YamlSyntaxError(key_node.start_mark.line + 1, _MERGE)
            if seen is not None:
                key = _build(key_node, depth + 1, seen)
            else:
                key = key_node.value if tag is _TEXT else _scalar(key_node)
            if key in out:
                raise YamlSyntaxError(key_node.start_mark.line + 1, _duplicate(key, lines[key]))
            if value_node.__class__ is ScalarNode and seen is None:
                out[key] = value_node.value if value_node.tag is _TEXT else _scalar(value_node)
            else:
                out[key] = _build(value_node, depth + 1, seen)
            lines[key] = key_node.start_mark.line + 1
        return out
    if node.tag is not _SEQ:
        raise YamlSyntaxError(mark.line + 1, _tag_message(node.tag))
    seq = LineSeq()
    seq.line = mark.line + 1
    append = seq.append
    for child in node.value:
        if child.__class__ is ScalarNode and seen is None:
            append(child.value if child.tag is _TEXT else _scalar(child))
        else:
            append(_build(child, depth + 1, seen))
    seq.item_lines = [child.start_mark.line + 1 for child in node.value]
    return seq


_COMPLEX_KEY = ("a list or mapping used as a key (`? [a, b]` or `{[a, b]: c}`) is not supported; "
                "keys are plain values: write the key as text")


def _duplicate(key: Any, first: int) -> str:
    return (f"YAML syntax: found duplicate key \"{shorten(key, 80)}\" (first at line {first}); "
            "each key may appear once in a mapping")
