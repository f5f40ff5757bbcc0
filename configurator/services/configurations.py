"""Configurations and their revisions: the use cases behind the API, the web forms and the CLI.

Each write takes a session and the served content, runs the pipeline, stores the result through
store/, and leaves the commit to the caller (one commit per request). Nothing here knows Flask.

- `configure`: a profile and adjustments in, the configuration document out (nothing stored).
- `create_configuration`, `add_revision`: store a configured profile as a new configuration, or
  as the next revision of one (the revision's full adjustment list given).
- `apply_changes`, `withdraw_change`, `reconfigure`: a solution lead's changes on the latest
  revision, under the configuration's lock, refused when the revision they were made on is no
  longer the latest (StaleRevision); each makes one new revision.
- `explain_revision`: why a stored revision came out as it did, on its own content version.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..content.adjustments import parse_adjustments
from ..content.document import ConfigurationDocument
from ..engine.explain import explain
from ..engine.pipeline import Pipeline
from ..store import configurations as store
from ..store.db import Session
from .approvals import carry_approvals
from .content import Content, served_pipeline
from .workflow import SYSTEM, Actor, initial_state

MODULE_ACTIONS = ("accept", "add", "remove", "quantity")


class StaleRevision(Exception):
    """A change was made on a revision that is no longer the latest; nothing was changed."""

    def __init__(self, base: int | None, latest: int):
        self.base, self.latest = base, latest
        super().__init__(f"the configuration changed since revision {base}: it is now at "
                         f"revision {latest}")


class PreconditionFailed(Exception):
    """`If-Match` named another version of the configuration than the latest (412); nothing
    was changed."""

    def __init__(self, given: str, latest: str, number: int):
        self.given, self.latest, self.number = given, latest, number
        super().__init__(f"If-Match {given} is not the latest revision's ETag {latest}")


def etag(configuration_id: int, number: int, state: str) -> str:
    """The ETag of a revision (and of its configuration while it is the latest): it changes
    with every new revision and every change of the revision's state."""
    return f'"{configuration_id}-{number}-{state}"'


def configure(content: Content | Pipeline, profile: Any,
              adjustments: Any = ()) -> ConfigurationDocument:
    """Validate a profile and adjustments and return the configuration document.

    Raises ProfileInvalid / AdjustmentInvalid naming each bad field, ContentError when no
    content is usable.
    """
    pipeline = served_pipeline(content)
    clean = pipeline.pack.profile.validate(profile)
    changes = parse_adjustments(adjustments, pipeline.pack.catalog)
    return pipeline.configure(clean, changes)


def create_configuration(session: Session, content: Content | Pipeline, profile: dict[str, Any],
                         adjustments: Sequence[dict[str, Any]] = (),
                         actor: Actor = SYSTEM) -> dict[str, Any]:
    """Configure `profile` and store it as a new configuration with revision 1.

    The customer is found, or created, by `profile.name`. Raises ProfileInvalid,
    AdjustmentInvalid or ContentError before anything is written.
    """
    pipeline = served_pipeline(content)
    document = configure(pipeline, profile, list(adjustments))
    return store.insert_configuration(session, pipeline.pack, profile, list(adjustments),
                                      document, actor.signature, author_id=actor.user_id,
                                      via_api_key=actor.api_key, state=initial_state(document))


def add_revision(session: Session, content: Content | Pipeline, configuration_id: int,
                 adjustments: Sequence[dict[str, Any]], profile: dict[str, Any] | None = None,
                 actor: Actor = SYSTEM, *, if_match: str | None = None) -> dict[str, Any]:
    """Re-run the pipeline for a configuration and store the result as its next revision.

    `adjustments` is the revision's full list of adjustments (not a change to the previous
    revision's list). Without `profile` the latest revision's profile is used. The run uses the
    content being served now, which may be newer than the previous revision's. When the new
    profile names another company, the configuration moves to that customer. With `if_match`
    (an ETag), PreconditionFailed unless it is the latest revision's: nothing is changed then.
    The revision replaced is superseded; its approvals carry over where nothing got worse.
    """
    pipeline = served_pipeline(content)
    configuration = store.lock_configuration(session, configuration_id)
    if if_match is not None:
        latest = store.get_revision_row(session, configuration_id, configuration.latest_revision)
        current = etag(configuration_id, latest.number, store.effective_state(latest))
        if if_match.strip() not in (current, "*"):
            raise PreconditionFailed(if_match, current, latest.number)
    if profile is None:
        profile = store.latest_inputs(session, configuration)[0]
    document = configure(pipeline, profile, list(adjustments))
    revision = store.insert_revision(session, configuration, pipeline.pack, profile,
                                     list(adjustments), document, actor.signature,
                                     author_id=actor.user_id, via_api_key=actor.api_key,
                                     state=initial_state(document))
    carry_approvals(session, revision, actor)
    return store.revision_view(revision)


# --- a solution lead's changes ----------------------------------------------------------------

def apply_changes(session: Session, content: Content | Pipeline, configuration_id: int,
                  changes: Sequence[dict[str, Any]], *, base_revision: int | None,
                  actor: Actor = SYSTEM) -> dict[str, Any]:
    """Apply one or several changes (accept, add, remove, quantity, discount) to the latest
    revision, made on revision `base_revision`, as one new revision."""
    latest = _lock_latest(session, configuration_id, base_revision)
    adjustments = list(latest["adjustments"])
    for change in changes:
        adjustments = with_change(adjustments, change, latest["document"])
    return add_revision(session, content, configuration_id, adjustments, actor=actor)


def withdraw_change(session: Session, content: Content | Pipeline, configuration_id: int,
                    index: int, *, base_revision: int | None, actor: Actor = SYSTEM
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Withdraw the latest revision's adjustment number `index` (IndexError when there is none):
    (the new revision, the adjustment withdrawn)."""
    latest = _lock_latest(session, configuration_id, base_revision)
    withdrawn = latest["adjustments"][index] if index >= 0 else None
    adjustments = without(latest["adjustments"], index)
    revision = add_revision(session, content, configuration_id, adjustments, actor=actor)
    return revision, withdrawn


def reconfigure(session: Session, content: Content | Pipeline, configuration_id: int,
                profile: dict[str, Any], *, base_revision: int | None,
                actor: Actor = SYSTEM) -> dict[str, Any]:
    """A new revision from `profile` (the customer's current one), keeping the adjustments."""
    latest = _lock_latest(session, configuration_id, base_revision)
    return add_revision(session, content, configuration_id, latest["adjustments"],
                        profile=profile, actor=actor)


def _lock_latest(session: Session, configuration_id: int, base_revision: int | None
                 ) -> dict[str, Any]:
    """The latest revision, with the configuration locked until the caller commits (the latest
    stays the latest); StaleRevision when it is not `base_revision`."""
    store.lock_configuration(session, configuration_id)
    latest = store.get_configuration(session, configuration_id)
    if base_revision != latest["revision"]:
        raise StaleRevision(base_revision, latest["revision"])
    return latest


def _about(adjustment: dict, module: str | None, actions: tuple[str, ...]) -> bool:
    return adjustment.get("module") == module and adjustment.get("action") in actions


def included_by_rules(document: dict, module: str) -> bool:
    """Whether a line is there for a reason other than a solution lead's adjustment."""
    for line in document.get("lines", []):
        if line["module"] == module:
            return any(not r["rule"].startswith("adjustment") for r in line["reasons"])
    return False


def with_change(adjustments: list[dict], change: dict, document: dict) -> list[dict]:
    """The full adjustment list for the revision that applies `change` to the revision whose
    adjustments and document are given."""
    action, module = change["action"], change.get("module")
    kept = list(adjustments)
    if action == "accept":
        kept = [a for a in kept if not _about(a, module, ("remove", "accept"))]
        kept.append(change)
    elif action == "add":
        kept = [a for a in kept if not _about(a, module, ("remove", "add", "accept"))]
        kept.append(change)
    elif action == "remove":
        kept = [a for a in kept if not _about(a, module, MODULE_ACTIONS)]
        if included_by_rules(document, module):
            kept.append(change)
    elif action == "quantity":
        kept = [a for a in kept if not _about(a, module, ("quantity",))]
        kept.append(change)
    else:
        kept.append(change)
    return kept


def without(adjustments: list[dict], index: int) -> list[dict]:
    """The list with one adjustment withdrawn."""
    if not 0 <= index < len(adjustments):
        raise IndexError(index)
    return adjustments[:index] + adjustments[index + 1:]


# --- explanations -----------------------------------------------------------------------------

def explain_revision(content: Content, revision: dict, files_of_version: Any) -> dict:
    """Why a stored revision came out as it did, with the content version it was computed with.

    `files_of_version(version)` returns a stored version's files when it is not the one served.
    """
    pipeline = content.pipeline_for(revision["content_version"], files_of_version)
    profile = pipeline.pack.profile.validate(revision["profile"])
    changes = parse_adjustments(revision["adjustments"], pipeline.pack.catalog)
    result = explain(pipeline, profile, changes, on=revision["document"].get("as_of"))
    result["matches_stored_document"] = result["document"] == revision["document"]
    return result


def explain_stored_revision(session: Session, content: Content, configuration_id: int,
                            number: int) -> dict:
    """`explain_revision` of revision `number` as stored."""
    revision = store.get_revision(session, configuration_id, number)
    return explain_revision(content, revision,
                            lambda version: store.content_version_files(session, version))
