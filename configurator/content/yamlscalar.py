"""What a plain (unquoted) scalar means in YAML 1.2: null, a bool, an int, a float, a date, or
text. content/yamlfile.py reads the files and asks here for the value of each plain scalar.

What content files never need is refused (ScalarRefused, with how to write it instead): a date
with a time, a plain `=` or `<<`, a number with no digits (`0x_`), a date that does not exist
(`2026-02-30`), and numbers longer than MAX_NUMBER_CHARS characters (Python refuses to convert
them).
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

MAX_NUMBER_CHARS = 100         # characters of one number
_NUMBER = re.compile(r"[-+]?(\.?[0-9]|0[xob])")


class ScalarRefused(ValueError):
    """A plain scalar content files do not take; `message` says how to write it instead."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


# The types a plain (unquoted) scalar can have in YAML 1.2, tried in this order (as ruamel.yaml,
# the reader this module used to fall back on, resolves them: underscores in numbers, `0b`/`0o`/
# `0x` and a leading 0 that is decimal; `.5e3` stays text). Only a scalar whose first character
# is in TYPED_FIRST can have one: any other (`_1`, `yes`, `on`) is text without a look.
_PLAIN_TYPE = re.compile(r"""
    (?P<bool> true | True | TRUE | false | False | FALSE )
  | (?P<float> [-+]? (?: [0-9][0-9_]* (?: \.[0-9_]* (?: [eE][-+]?[0-9]+ )? | [eE][-+]?[0-9]+ )
                       | \.[0-9_]+ (?: [eE][-+][0-9]+ )?
                       | \. (?: inf | Inf | INF ) )
             | \. (?: nan | NaN | NAN ) )
  | (?P<int> [-+]? (?: 0b[01_]+ | 0o?[0-7_]+ | [0-9_]+ | 0x[0-9a-fA-F_]+ ) )
  | (?P<special> << | = )
  | (?P<null> ~ | null | Null | NULL | )
  | (?P<date> [0-9]{4}-[0-9]{2}-[0-9]{2} )
  | (?P<datetime> [0-9]{4}-[0-9]{1,2}-[0-9]{1,2} (?: [Tt] | [\ \t]+ ) [0-9]{1,2}:[0-9]{2}:[0-9]{2}
                  (?: \.[0-9]* )? (?: [\ \t]* (?: Z | [-+][0-9]{1,2} (?: :[0-9]{2} )? ) )? )
""", re.VERBOSE)
TYPED_FIRST = frozenset(["", *"tTfF-+.0123456789<=~nN"])


def plain_type(value: str) -> str:
    """The YAML 1.2 type of a plain (unquoted) scalar: str, bool, float, int, special, null,
    date or datetime."""
    if value[:1] in TYPED_FIRST:
        match = _PLAIN_TYPE.fullmatch(value)
        if match is not None:
            return match.lastgroup
    return "str"


def plain_value(value: str) -> Any:
    """The value of a plain scalar; ScalarRefused for what content files do not take."""
    tag = plain_type(value)
    if tag == "str":
        return value
    if tag == "null":
        return None
    if tag == "bool":
        return value in ("true", "True", "TRUE")
    if tag in ("int", "float"):
        if len(value) > MAX_NUMBER_CHARS and _NUMBER.match(value):
            raise ScalarRefused(f"a number of {len(value):,} characters; numbers in content "
                                f"files have at most {MAX_NUMBER_CHARS}")
        try:
            return _int(value) if tag == "int" else _float(value)
        except ValueError:    # only signs, prefixes, `.` and `_`: `0x_`, `-_`, `._`
            raise ScalarRefused(f"`{_shown(value)}` is read as a number but has no digits; quote "
                                "it to keep it as text") from None
    if tag == "date":
        try:
            return dt.date(int(value[:4]), int(value[5:7]), int(value[8:]))
        except ValueError as exc:
            raise ScalarRefused(f"`{value}` is not a date ({exc}); write a real date, or quote it "
                                "to keep it as text") from None
    if tag == "datetime":
        raise ScalarRefused(f"`{_shown(value)}` is a date with a time, which content files do not "
                            "take; write the date alone (2026-01-31), or quote the value to keep "
                            "it as text")
    raise ScalarRefused(f"a plain `{value}` has a meaning of its own in YAML; quote it "
                        f"(\"{value}\") to write it as text")


def _shown(value: str) -> str:
    return value if len(value) <= 60 else f"{value[:60]}... ({len(value):,} characters)"


def _int(text: str) -> int:
    digits = text.replace("_", "")
    sign = -1 if digits[:1] == "-" else 1
    digits = digits.lstrip("+-")
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
