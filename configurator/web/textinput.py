"""Profiles typed or uploaded by people: YAML 1.2 (or JSON, which YAML reads) into plain values,
through the content files' own reader (content/yamlfile.py).

Aliases (`*name`) are refused, as in content files, before the document is built: a few lines of
them can expand into an enormous document, and a profile never needs them.
"""
from __future__ import annotations

from typing import Any

from ..content.yamlfile import YamlSyntaxError, parse_yaml, plain


def read_profile_text(text: str) -> Any:
    """Plain values from YAML or JSON text; raises YamlSyntaxError (with a line when known)."""
    try:
        return plain(parse_yaml(text))
    except YamlSyntaxError as exc:
        if "anchors and aliases" in exc.message:    # said for a person pasting a profile
            raise YamlSyntaxError(exc.line, "YAML aliases (*name) are not accepted in a "
                                            "profile; write the values out") from None
        raise
