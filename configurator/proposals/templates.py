"""A proposal template folder: its theme, its message catalogs and its Jinja environment.

A content pack's `proposals/` folder holds one folder per template:

    proposals/standard/
        proposal.html        Jinja (autoescaped, sandboxed)
        proposal.css         paged-media styles, linked from proposal.html
        theme.yaml           vendor name, logo, colours, legal text, numbering, validity
        assets/              logo and images, served to the renderer from this folder only
        messages/en.yaml     labels and sentences, one file per language
        messages/zh.yaml

Everything here is read from the pack's files and checked; a broken file raises TemplateBroken
naming the file and what to fix, never a half-rendered proposal.

Names and paths: a template name is a lowercase id (TEMPLATE_NAME: no `/`, no `..`) of a folder
that really is inside the proposals folder (not a link out of it); a language is a code
(LANGUAGE_NAME). Every file the template reads (theme, messages, Jinja includes, the logo) must
be inside the template folder once links are followed; anything else is refused by name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import BytecodeCache, FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound
from jinja2.bccache import Bucket
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..content.yamlfile import YamlSyntaxError, plain, read_yaml
from .errors import ProposalInvalid, TemplateBroken

TEMPLATE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
LANGUAGE_NAME = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")
COLOUR = re.compile(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
DEFAULT_TEMPLATE = "standard"
DEFAULT_LANGUAGE = "en"
COLOURS = ("primary", "accent", "text", "muted", "line", "tint")
DEFAULT_COLOURS = {"primary": "#12355b", "accent": "#c8553d", "text": "#1f2933",
                   "muted": "#5f6b7a", "line": "#d5dce4", "tint": "#eef2f6"}
THEME_KEYS = ("vendor", "logo", "colours", "proposal_number", "validity_days", "legal",
              "private_fields")
VENDOR_KEYS = ("name", "legal_name", "address", "website", "email")


# --- messages ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Messages:
    """One language's labels and sentences, with the template's default language behind it.

    Keys are dotted paths into the YAML (`sections.summary`). A value may hold `{name}`
    placeholders, filled with plain text (the page escapes it), and may be a mapping
    `{one: ..., other: ...}` chosen by the `count` parameter.
    """
    language: str
    entries: dict[str, Any]
    fallback: dict[str, Any] = field(default_factory=dict)

    def has(self, key: str) -> bool:
        return key in self.entries or key in self.fallback

    def raw(self, key: str, default: Any = None) -> Any:
        if key in self.entries:
            return self.entries[key]
        return self.fallback.get(key, default)

    def __call__(self, key: str, **params: Any) -> str:
        value = self.raw(key)
        if value is None:
            return key
        if isinstance(value, dict):
            count = params.get("count")
            value = value.get("one") if count == 1 and "one" in value else value.get("other", "")
        if not isinstance(value, str):
            return key
        return fill(value, params)

    def label(self, group: str, value: Any) -> str:
        """The label of an enum value (`values.needs.cold-chain`) or a role; else the value
        made readable (`cold-chain` -> `Cold chain`)."""
        text = str(value)
        found = self.raw(f"{group}.{text}")
        if found is None:
            found = self.raw(f"{group}.{text.replace(' ', '-')}")
        if isinstance(found, str):
            return found
        return readable(text)


def fill(text: str, params: dict[str, Any]) -> str:
    """`{name}` placeholders replaced by the parameters, as plain text (no format mini-language,
    no attribute access: a message file cannot reach into the values)."""
    return PLACEHOLDER.sub(lambda m: str(params[m.group(1)]) if m.group(1) in params
                           else m.group(0), text)


def readable(value: str) -> str:
    text = value.replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:] if text else text


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(node, dict) and not (node and set(node) <= {"one", "other"}):
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    else:
        out[prefix] = node
    return out


# --- theme ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Theme:
    vendor: dict[str, str]
    logo: str | None
    colours: dict[str, str]
    proposal_number: str
    validity_days: int
    legal: dict[str, str]
    private_fields: tuple[str, ...]

    def legal_text(self, language: str) -> str:
        return self.legal.get(language) or self.legal.get(DEFAULT_LANGUAGE, "")


# --- the template folder ----------------------------------------------------------------------

class ProposalTemplate:
    """A template folder, checked: its theme, its languages and its Jinja environment."""

    def __init__(self, folder: Path, name: str, pack_root: Path | None = None):
        self.folder = folder.resolve()
        self.name = name
        self._pack_root = pack_root
        for required in ("proposal.html", "theme.yaml"):
            if not (self.folder / required).is_file():
                raise TemplateBroken(self.rel(required), f"the template has no {required}",
                                     f"add {required} to {self.rel('')}")
        self.theme = self._load_theme()
        self.languages = self._languages()
        if DEFAULT_LANGUAGE not in self.languages:
            raise TemplateBroken(self.rel("messages/"), "the template has no messages/en.yaml",
                                 "English is the fallback language: add messages/en.yaml")
        self._messages: dict[str, Messages] = {}
        self.environment = ImmutableSandboxedEnvironment(
            loader=_FolderLoader(self.folder), autoescape=True,
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
            bytecode_cache=_COMPILED)

    def rel(self, name: str) -> str:
        path = self.folder / name if name else self.folder
        if self._pack_root is not None:
            try:
                return path.relative_to(self._pack_root.resolve()).as_posix() + (
                    "/" if not name else "")
            except ValueError:
                pass
        return str(path)

    def messages(self, language: str) -> Messages:
        if language not in self.languages:
            raise ProposalInvalid({"language": [
                f"the `{self.name}` template has no `{language}` messages; "
                f"available: {', '.join(sorted(self.languages))}"]})
        if language not in self._messages:
            fallback = {} if language == DEFAULT_LANGUAGE else self.messages(DEFAULT_LANGUAGE).entries
            self._messages[language] = Messages(language, self._read_messages(language), fallback)
        return self._messages[language]

    def render_html(self, context: dict[str, Any]) -> str:
        try:
            template = self.environment.get_template("proposal.html")
            return template.render(**context)
        except TemplateError as exc:
            line = getattr(exc, "lineno", None)
            where = "proposal.html" + (f":{line}" if line else "")
            raise TemplateBroken(self.rel(where), f"template error: {exc}",
                                 "fix the Jinja template") from exc
        except Exception as exc:   # the template raised at render time (e.g. a division by 0)
            where = _template_line(exc) or "proposal.html"
            raise TemplateBroken(self.rel(where), f"the template raised {type(exc).__name__}: "
                                 f"{exc}", "fix the Jinja template") from exc

    # --- loading ---------------------------------------------------------------------------
    def _yaml(self, name: str) -> Any:
        path = self.folder / name
        if not inside(path, self.folder):
            raise TemplateBroken(self.rel(name), "is a link to a file outside the template "
                                 "folder", "copy the file into the template folder")
        try:
            return plain(read_yaml(path))
        except YamlSyntaxError as exc:
            where = self.rel(name) + (f":{exc.line}" if exc.line else "")
            raise TemplateBroken(where, exc.message, "fix the YAML") from None

    def _languages(self) -> set[str]:
        folder = self.folder / "messages"
        if not folder.is_dir():
            return set()
        return {p.stem for p in folder.glob("*.yaml") if LANGUAGE_NAME.fullmatch(p.stem)}

    def _read_messages(self, language: str) -> dict[str, Any]:
        name = f"messages/{language}.yaml"
        data = self._yaml(name)
        if not isinstance(data, dict):
            raise TemplateBroken(self.rel(name), "a message catalog must be a mapping of keys",
                                 "write `section: {key: text}`")
        return _flatten(data)

    def _load_theme(self) -> Theme:
        data = self._yaml("theme.yaml")
        file = self.rel("theme.yaml")
        if not isinstance(data, dict):
            raise TemplateBroken(file, "the theme must be a mapping", "see docs/proposals.md")
        unknown = sorted(set(data) - set(THEME_KEYS))
        if unknown:
            raise TemplateBroken(file, f"unknown key(s) {', '.join(unknown)}",
                                 f"allowed: {', '.join(THEME_KEYS)}")
        vendor = data.get("vendor") or {}
        if not isinstance(vendor, dict) or not isinstance(vendor.get("name"), str):
            raise TemplateBroken(file, "`vendor.name` is required", "name the company that sends "
                                 "the proposal")
        unknown = sorted(set(vendor) - set(VENDOR_KEYS))
        if unknown:
            raise TemplateBroken(file, f"unknown vendor key(s) {', '.join(unknown)}",
                                 f"allowed: {', '.join(VENDOR_KEYS)}")
        logo = data.get("logo")
        if logo is not None:
            if not isinstance(logo, str) or not self._inside(logo):
                raise TemplateBroken(file, f"logo `{logo}` is not a file in the template folder",
                                     "give a path such as assets/logo.svg")
        colours = dict(DEFAULT_COLOURS)
        given = data.get("colours") or {}
        if not isinstance(given, dict):
            raise TemplateBroken(file, "`colours` must be a mapping", f"keys: {', '.join(COLOURS)}")
        for key, value in given.items():
            if key not in COLOURS:
                raise TemplateBroken(file, f"unknown colour `{key}`", f"colours: {', '.join(COLOURS)}")
            if not isinstance(value, str) or not COLOUR.fullmatch(value):
                raise TemplateBroken(file, f"colour `{key}: {value}` is not a hex colour",
                                     "write it as \"#12355b\"")
            colours[key] = value
        number = data.get("proposal_number", "{configuration}-{revision}")
        if not isinstance(number, str) or "{revision}" not in number:
            raise TemplateBroken(file, "`proposal_number` must contain {revision}",
                                 "e.g. NW-{configuration}-R{revision}")
        days = data.get("validity_days", 60)
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650:
            raise TemplateBroken(file, "`validity_days` must be a whole number of days, 1-3650")
        legal = data.get("legal") or {}
        if isinstance(legal, str):
            legal = {DEFAULT_LANGUAGE: legal}
        if not isinstance(legal, dict) or not all(isinstance(v, str) for v in legal.values()):
            raise TemplateBroken(file, "`legal` must be a text, or a text per language (en: ...)")
        private = data.get("private_fields", [])
        if not isinstance(private, list) or not all(isinstance(v, str) for v in private):
            raise TemplateBroken(file, "`private_fields` must be a list of profile field names")
        return Theme({k: str(v) for k, v in vendor.items()}, logo, colours, number, days,
                     dict(legal), tuple(private))

    def _inside(self, relative: str) -> bool:
        path = self.folder / relative
        return inside(path, self.folder) and path.is_file()


def inside(path: Path, folder: Path) -> bool:
    """Is `path`, with every link followed, within `folder`?"""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError, ValueError):     # a link loop, a NUL in the name
        return False


class _CompiledTemplates(BytecodeCache):
    """Jinja's compiled code of each template file, kept for the life of the process. A
    ProposalTemplate (and its Jinja environment) is made for every render, and compiling
    proposal.html again each time took about 35 ms, a tenth of a typical proposal's render. Jinja
    hands over the checksum of the file's source, so an edited file is compiled afresh; every
    environment that uses this cache is made the same way (ProposalTemplate), so the code fits."""

    def __init__(self, limit: int = 64):
        self.limit = limit
        self._code: dict[str, tuple[str, Any]] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        found = self._code.get(bucket.key)
        if found is not None and found[0] == bucket.checksum:
            bucket.code = found[1]

    def dump_bytecode(self, bucket: Bucket) -> None:
        if len(self._code) >= self.limit:
            self._code.clear()
        self._code[bucket.key] = (bucket.checksum, bucket.code)


_COMPILED = _CompiledTemplates()


class _FolderLoader(FileSystemLoader):
    """Jinja's file loader (which already refuses `..` in a name), also refusing a file that is
    a link to somewhere outside the template folder."""

    def __init__(self, folder: Path):
        super().__init__(str(folder))
        self.folder = folder

    def get_source(self, environment: Any, template: str) -> Any:
        source, filename, uptodate = super().get_source(environment, template)
        if filename is None or not inside(Path(filename), self.folder):
            raise TemplateNotFound(template, f"{template} is outside the template folder")
        return source, filename, uptodate


def _template_line(exc: BaseException) -> str | None:
    """`file:line` of the template frame an exception was raised in (Jinja maps its frames to
    the template's lines), or None."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith((".html", ".htm", ".jinja", ".j2")):
            found = f"{Path(name).name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def open_template(proposals_dir: Path, name: str = DEFAULT_TEMPLATE,
                  pack_root: Path | None = None) -> ProposalTemplate:
    """The template folder `name` inside a pack's proposals folder; ProposalInvalid when there is
    no such template."""
    available = available_templates(proposals_dir)
    if not isinstance(name, str) or not TEMPLATE_NAME.fullmatch(name) or name not in available:
        shown = name[:64] if isinstance(name, str) else name
        raise ProposalInvalid({"template": [
            f"there is no proposal template `{shown}`; available: "
            f"{', '.join(available) or '(none)'}"]})
    return ProposalTemplate(proposals_dir / name, name, pack_root)


def available_templates(proposals_dir: Path) -> list[str]:
    """The template folders of a proposals folder: a name TEMPLATE_NAME allows, a folder with a
    proposal.html, and really inside the proposals folder (a link to elsewhere is left out)."""
    if not proposals_dir.is_dir():
        return []
    return sorted(p.name for p in proposals_dir.iterdir()
                  if TEMPLATE_NAME.fullmatch(p.name) and p.is_dir()
                  and inside(p, proposals_dir) and (p / "proposal.html").is_file())
