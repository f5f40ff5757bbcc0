"""The configuration document, typed once: what the pipeline builds (`Evaluation.document()` in
engine/evaluation.py, its lines in engine/solution.py), the API returns and documents, the store
keeps, and the proposals, web pages, CLI, impact and rule tests read.

A document is plain JSON-ready data (dicts, lists, strings and numbers) from end to end, stored
as JSON and compared as data, so its parts are TypedDicts: they name and type every key without
changing a byte of it. The words a document is made of (statuses, totals, billings, note
sections) are defined here, each once, as a Literal type and the tuple of its values.

Money is a JSON number rounded to cents, whole amounts as integers (`money.number`): `Amount`.
"""
# No `from __future__ import annotations` here: TypedDict reads NotRequired[...] only from
# evaluated annotations.
from typing import Any, Literal, NotRequired, TypedDict, get_args

# --- the words ----------------------------------------------------------------------------------

Status = Literal["ok", "approval_required", "conflict"]
STATUSES: tuple[Status, ...] = get_args(Status)

TotalKey = Literal["one_time", "monthly", "yearly", "annual_recurring", "first_year"]
TOTAL_KEYS: tuple[TotalKey, ...] = get_args(TotalKey)

# how often a catalog price is charged: a line's and a recommendation's `billing`
Billing = Literal["one_time", "monthly", "yearly"]
BILLINGS: tuple[Billing, ...] = get_args(Billing)

# the proposal section a `note` action writes into
NoteSection = Literal["executive-summary", "solution", "delivery", "commercial", "terms"]
NOTE_SECTIONS: tuple[NoteSection, ...] = get_args(NoteSection)

ConflictKind = Literal["excludes", "requires_excluded"]
PriceChangeKind = Literal["discount", "surcharge"]

Amount = int | float


# --- the parts ----------------------------------------------------------------------------------

class Reason(TypedDict):
    """Why something is in the document: the rule id, `catalog` (a catalog `requires`) or
    `adjustment[:BY]` (a solution lead's change), and the text."""
    rule: str
    text: str


class LineDiscount(TypedDict):
    """One discount or surcharge on a line; an amount is given as its equivalent percent."""
    rule: str
    kind: PriceChangeKind
    percent: Amount
    text: str


class Line(TypedDict):
    module: str
    name: str
    family: str
    kind: str                       # one of content.model.KINDS
    quantity: int
    per: str                        # the unit a price is per
    unit_price: Amount
    billing: Billing
    discount_percent: Amount        # the line's discounts added up; negative for a surcharge
    list_total: Amount              # quantity x unit price
    total: Amount                   # after discounts, per billing period
    reasons: list[Reason]
    discounts: list[LineDiscount]


class Recommendation(TypedDict):
    module: str
    name: str
    family: str
    kind: str
    unit_price: Amount
    billing: Billing
    reasons: list[Reason]


class Exclusion(TypedDict):
    module: str
    name: str
    family: str
    reasons: list[Reason]
    overrides: list[Reason]         # the inclusions the exclusion beat


class Approval(TypedDict):
    role: str
    reasons: list[Reason]


class Conflict(TypedDict):
    kind: ConflictKind
    modules: list[str]              # both modules
    message: str
    rules: dict[str, list[str]]     # module -> the rules behind it


class TeamMember(TypedDict):
    """A role in the account team, as the `team` action gave it (later rules add keys to the
    same role), with the rule that last set it. Keys beyond these are the rule author's."""
    role: str
    rule: str
    name: NotRequired[str]
    responsibility: NotRequired[str]


class Note(TypedDict):
    section: NoteSection
    text: str
    rule: str


class Totals(TypedDict):
    one_time: Amount
    monthly: Amount
    yearly: Amount
    annual_recurring: Amount        # 12 x monthly + yearly
    first_year: Amount              # one_time + annual_recurring
    currency: str                   # the pack's


class FiredEntry(TypedDict):
    """One rule that fired (or one adjustment applied), in firing order."""
    rule: str
    ruleset: str                    # `adjustments` for a solution lead's change
    stage: str                      # one of content.model.STAGES
    derived: NotRequired[dict[str, Any]]       # the facts its `derive` actions set
    adjustment: NotRequired[dict[str, Any]]    # the change, as `Adjustment.as_dict()`


ServiceLevel = dict[str, Any]       # response_hours, availability, escalation, ... as rules set


class ConfigurationDocument(TypedDict):
    """The result of running one profile through the pipeline (BRIEF.md "Semantics")."""
    status: Status
    content_version: str
    as_of: str                      # yyyy-mm-dd: the day it was computed for
    derived: dict[str, Any]
    lines: list[Line]
    recommendations: list[Recommendation]
    exclusions: list[Exclusion]
    approvals: list[Approval]
    service_level: ServiceLevel
    team: list[TeamMember]
    notes: list[Note]
    warnings: list[Reason]
    conflicts: list[Conflict]
    totals: Totals
    fired: list[FiredEntry]


def status_of(conflicts: list[Conflict], approvals: list[Approval]) -> Status:
    """A document's status: a conflict outweighs approvals; without either it is ok."""
    if conflicts:
        return "conflict"
    if approvals:
        return "approval_required"
    return "ok"
