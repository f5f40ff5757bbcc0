"""ISO codes for the profile's `country` and `currency` types: which codes exist, their names,
and a did-you-mean for what a person typed instead (`cn`, `China`, ` CN`, `Germany`, `usd`).

The only module that imports pycountry (its ISO 3166-1 and ISO 4217 tables, kept up to date by
its maintainers), so a new release of the tables, or another library, changes this file alone.
Validation never changes a value: a code in the wrong case or with spaces around it is refused
with the code it probably means, so what a client sends is exactly what is stored and compared.
"""
from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass
from functools import cached_property

import pycountry

QUOTED_CHARS = 40           # a refused value is quoted up to this many characters
MAX_GUESSES = 3             # more names than this match (`dollar`): no guess, the advice instead
CLOSE = 0.8                 # difflib's ratio for a typo: `Germnay` is DE; `Holland` (0.77 to
                            # `Poland`) and `England` (0.75 to `Greenland`) get no guess
# Codes ISO 3166 reserves "exceptionally" for a country that already has another code: people
# write them, pycountry (rightly) does not list them. Only used to suggest the real code.
RESERVED_ALIASES = {"UK": "GB", "EL": "GR"}


@dataclass(frozen=True)
class Guess:
    code: str
    name: str

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"


class CodeSet:
    """One ISO code list: `country` (ISO 3166-1 alpha-2) or `currency` (ISO 4217)."""

    def __init__(self, kind: str, standard: str, shape: str, examples: tuple[str, ...]):
        self.kind = kind                   # the profile type: country | currency
        self.standard = standard           # "ISO 3166-1 alpha-2"
        self.shape = shape                 # "two capital letters"
        self.examples = examples

    @cached_property
    def _table(self):
        return pycountry.countries if self.kind == "country" else pycountry.currencies

    @cached_property
    def names(self) -> dict[str, str]:
        """Code to its everyday English name (`TW`: Taiwan, `USD`: US Dollar), in ISO order."""
        key = "alpha_2" if self.kind == "country" else "alpha_3"
        return {getattr(r, key): getattr(r, "common_name", None) or r.name for r in self._table}

    @cached_property
    def choices(self) -> list[tuple[str, str]]:
        """(code, "China (CN)") for every code, sorted by name as a person reads it."""
        ordered = sorted(self.names.items(), key=lambda item: (_folded(item[1]), item[0]))
        return [(code, f"{name} ({code})") for code, name in ordered]

    @cached_property
    def _words(self) -> dict[str, set[str]]:
        """Folded names and words of names (every name pycountry knows) to their codes."""
        out: dict[str, set[str]] = {}
        key = "alpha_2" if self.kind == "country" else "alpha_3"
        for record in self._table:
            code = getattr(record, key)
            for attr in ("name", "common_name", "official_name"):
                text = getattr(record, attr, None)
                if not text:
                    continue
                folded = _folded(text)
                out.setdefault(folded, set()).add(code)
                for word in folded.replace(",", " ").replace("(", " ").replace(")", " ").split():
                    if len(word) >= 4:
                        out.setdefault(word, set()).add(code)
        return out

    def name(self, code: str) -> str:
        return self.names.get(code, code)

    def valid(self, value: object) -> bool:
        return isinstance(value, str) and value in self.names

    def guesses(self, value: str) -> list[Guess]:
        """The codes `value` probably means: itself in capitals or without spaces, an ISO
        name or other code (alpha-3, numeric), a reserved alias (`UK`), a word of a name
        (`yuan`), or a name one typo away (`Germnay`). At most MAX_GUESSES, best first."""
        text = value.strip()
        if not text:
            return []
        codes: list[str] = []
        upper = text.upper()
        if upper in self.names:
            codes.append(upper)
        elif upper in RESERVED_ALIASES and self.kind == "country":
            codes.append(RESERVED_ALIASES[upper])
        else:
            try:
                record = self._table.lookup(text)   # names, alpha-3 and numeric codes, any case
            except LookupError:
                record = None
            if record is not None:
                codes.append(record.alpha_2 if self.kind == "country" else record.alpha_3)
        if not codes:
            folded = _folded(text)
            words = self._words
            found = words.get(folded) or set()
            if not found and len(folded) >= 4:
                found = {c for word, cs in words.items() if word.startswith(folded) for c in cs}
            if not found:
                for near in difflib.get_close_matches(folded, list(words), n=MAX_GUESSES,
                                                      cutoff=CLOSE):
                    found |= words[near]
            if len(found) > MAX_GUESSES:
                return []
            codes = sorted(found, key=lambda c: (_folded(self.name(c)), c))
        return [Guess(c, self.name(c)) for c in codes]

    def refusal(self, value: str) -> str:
        """Why a profile's `value` is not a code of this list, and what it probably means."""
        shown = _quoted(value)
        guesses = self.guesses(value)
        if guesses and guesses[0].code == value.strip():
            head = f"{shown} has spaces around it"
        elif guesses and guesses[0].code == value.strip().upper():
            head = f"{shown} is not an {self.standard} {self.kind} code ({self.shape})"
        else:
            head = f"{shown} is not an {self.standard} {self.kind} code"
            withdrawn = self.withdrawn(value)
            if withdrawn:
                head += f": {withdrawn}"
        if guesses:
            return f"{head}; did you mean {_or(guesses)}?"
        return f"{head}; {self.advice()}."

    def advice(self) -> str:
        examples = _or([Guess(c, self.name(c)) for c in self.examples])
        return f"write the {self.kind}'s code, {self.shape}, such as {examples}"

    def withdrawn(self, value: str) -> str:
        """"it was Netherlands Antilles, withdrawn in 2010" for a withdrawn country code."""
        if self.kind != "country" or len(value) != 2:
            return ""
        old = pycountry.historic_countries.get(alpha_2=value)
        if old is None:
            return ""
        year = str(getattr(old, "withdrawal_date", ""))[:4]
        return f"it was {old.name}, withdrawn{f' in {year}' if year else ''}"

    def hint(self, value: object) -> str:
        """A fix for a rule that compares this kind of field with `value` (`configurator check`)."""
        guesses = self.guesses(value) if isinstance(value, str) else []
        if guesses:
            return f"did you mean {_or(guesses)}?"
        return self.advice()


COUNTRIES = CodeSet("country", "ISO 3166-1 alpha-2", "two capital letters", ("DE", "CN", "US"))
CURRENCIES = CodeSet("currency", "ISO 4217", "three capital letters", ("EUR", "USD", "CNY"))
CODE_SETS = {"country": COUNTRIES, "currency": CURRENCIES}


def _folded(text: str) -> str:
    """Lowercase without accents: `Côte d'Ivoire` sorts and matches as `cote d'ivoire`."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _quoted(value: str) -> str:
    shown = value if len(value) <= QUOTED_CHARS else value[:QUOTED_CHARS] + "..."
    return f"'{shown}'"


def _or(guesses: list[Guess]) -> str:
    texts = [str(g) for g in guesses]
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " or " + texts[-1]
