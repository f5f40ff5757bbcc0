"""What can go wrong when a proposal is asked for; the API maps each to a problem+json."""
from __future__ import annotations


class ProposalInvalid(Exception):
    """A request for a template or language that does not exist; `errors` names the field."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


class TemplateBroken(Exception):
    """A template folder file is wrong: `file` (relative to the pack), what, and how to fix it."""

    def __init__(self, file: str, message: str, hint: str = ""):
        self.file = file
        self.message = message
        self.hint = hint
        super().__init__(f"{file}: {message}" + (f" ({hint})" if hint else ""))

    @property
    def where(self) -> tuple[str, int | None]:
        """(file, line): `file` may end in `:line`."""
        path, _, line = self.file.rpartition(":")
        return (path, int(line)) if path and line.isdigit() else (self.file, None)


class RenderFailed(Exception):
    """WeasyPrint could not produce the PDF."""


class RenderTimeout(RenderFailed):
    """The PDF took longer than the time limit and was stopped."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(f"rendering the PDF took longer than {seconds:g} s and was stopped")
