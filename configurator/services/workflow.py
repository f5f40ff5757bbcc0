"""Where a deal stands: who acts, the states of a revision, and the moves between them.

```
            +--> draft (conflicts) ------------------------------------+
 a new      |                                                          |
 revision --+--> pending_approval --+--> approved --> sent --+--> accepted
            |                       |                 |     +--> declined
            +--> approved (nothing  +--> rejected     +--(valid_until passes)--> expired
                 to approve)
 any revision a newer one replaced: superseded
```

The document's `status` (ok / approval_required / conflict) is what the pipeline computed; the
revision's `state` is where the deal is. Only the latest revision moves; approvals are recorded
as a person (services/approvals.py); `send`, `accept` and `decline` are `change_state`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..store import configurations as store
from ..store.db import Session
from ..store.models import Revision, utcnow

STATES = ("draft", "pending_approval", "approved", "rejected", "sent", "accepted", "declined",
          "expired", "superseded")
# state asked for -> the states it may come from
MOVES = {"sent": ("approved",), "accepted": ("sent",), "declined": ("sent",)}
# a sent revision, not accepted or declined in this many days, reads as expired
DEFAULT_VALIDITY_DAYS = 30
# the states after which approvals can no longer change
ISSUED = ("sent", "accepted", "declined", "expired")


@dataclass(frozen=True)
class Actor:
    """Who does something: a signed-in user, or an API key acting for its user (`api_key`, the
    key's public prefix). A key that acts for nobody has no user and may not approve."""
    user_id: int | None
    email: str | None
    name: str
    approver_roles: frozenset[str] = frozenset()
    api_key: str | None = None

    @property
    def signature(self) -> str | None:
        """What the records say made it: the user's e-mail, else the key, else nothing."""
        return self.email or (f"api-key:{self.api_key}" if self.api_key else None)


SYSTEM = Actor(None, None, "configurator")      # the CLI and tests acting for nobody


class Forbidden(Exception):
    """The actor may not do this (403); `message` says why."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class StateConflict(Exception):
    """The revision is not in a state that allows this (409); `message` says which and why."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class StateInvalid(Exception):
    """A state that cannot be asked for; `errors` names the field (422)."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


def initial_state(document: dict[str, Any]) -> str:
    """The state of a new revision, by what its document needs."""
    if document["status"] == "conflict":
        return "draft"
    return "pending_approval" if document["approvals"] else "approved"


def state_after_decisions(required: list[str], decisions: dict[str, str]) -> str:
    """pending_approval, approved or rejected, from the decision (approved / rejected) per role."""
    if any(decision == "rejected" for decision in decisions.values()):
        return "rejected"
    if all(decisions.get(role) == "approved" for role in required):
        return "approved"
    return "pending_approval"


def require_latest(session: Session, revision: Revision, doing: str) -> None:
    """StateConflict unless `revision` is its configuration's latest."""
    configuration = revision.configuration
    if revision.number != configuration.latest_revision:
        raise StateConflict(f"revision {revision.number} was replaced by revision "
                            f"{configuration.latest_revision}: only the latest revision can be "
                            f"{doing}")


def change_state(session: Session, configuration_id: int, number: int, state: str,
                 actor: Actor, *, validity_days: int = DEFAULT_VALIDITY_DAYS) -> dict[str, Any]:
    """Send, accept or decline the latest revision (MOVES says from where); returns the
    revision. Sending sets `valid_until` `validity_days` ahead."""
    if state not in MOVES:
        raise StateInvalid({"state": [f"`{state}` cannot be asked for; one of: "
                                      f"{', '.join(MOVES)}"]})
    store.lock_configuration(session, configuration_id)
    revision = store.get_revision_row(session, configuration_id, number)
    require_latest(session, revision, state)
    current = store.effective_state(revision)
    if current not in MOVES[state]:
        raise StateConflict(f"revision {number} is {current.replace('_', ' ')}: it can be "
                            f"{state} only when it is {' or '.join(MOVES[state])}")
    now = utcnow()
    valid_until = now + dt.timedelta(days=validity_days) if state == "sent" else None
    store.set_state(session, revision, state, actor.signature, now, valid_until)
    return store.revision_view(revision)
