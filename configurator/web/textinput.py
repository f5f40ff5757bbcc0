"""Profiles typed or uploaded by people: YAML 1.2 (or JSON, which YAML reads) into plain values.

Aliases (`*name`) are refused before the document is built: a few lines of them can expand into
an enormous document, and a profile never needs them.
"""
from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import AliasEvent

from ..content.yamlfile import YamlSyntaxError, parse_yaml, plain


def read_profile_text(text: str) -> Any:
    """Plain values from YAML or JSON text; raises YamlSyntaxError (with a line when known)."""
    try:
        for event in YAML().parse(text):
            if isinstance(event, AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else None
                raise YamlSyntaxError(line, "YAML aliases (*name) are not accepted in a "
                                            "profile; write the values out")
    except YAMLError:
        pass  # parse_yaml reports syntax errors with their line
    return plain(parse_yaml(text))
