"""Request and response shapes of the REST API (marshmallow; they also make the OpenAPI document).

Only shape and type are checked here. What a profile may hold is declared by the content pack
(`GET /api/v1/profile-schema`; the OpenAPI document's `Profile` schema, document.py) and checked
by the service, as is what an adjustment means.
"""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..content.adjustments import ACTIONS, MAX_ADJUSTMENTS, MAX_QUANTITY
from ..content.document import BILLINGS, STATUSES, TOTAL_KEYS
from ..content.model import KINDS, STAGES
from ..services.workflow import STATES
from ..store.models import CUSTOMER_NAME_MAX, IDEMPOTENCY_KEY_MAX, ROUTE_ID

# Route ids are bounded (the OpenAPI document states the bounds): see store.models.ROUTE_ID.
ID = ROUTE_ID
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


class Schema(ma.Schema):
    """Base schema of what clients send: a field the API does not know is an error, never
    silently dropped. (Query arguments too: their views pass `unknown=ma.RAISE`, since webargs
    would otherwise drop unknown query parameters.)"""

    class Meta:
        unknown = ma.RAISE


class Output(ma.Schema):
    """Base schema of what the API returns. Responses may gain fields in later versions, so the
    OpenAPI document does not forbid additional properties."""

    class Meta:
        unknown = ma.INCLUDE    # documented as `additionalProperties: true`


class Document(fields.Dict):
    """A configuration document, passed through exactly as the pipeline made it.

    Documented in OpenAPI as `ConfigurationDocument` (see ConfigurationDocumentSchema)."""


class Profile(fields.Dict):
    """A customer profile, checked by the service against the content pack's declaration.
    Documented in OpenAPI as the `Profile` schema, the served pack's declaration (document.py)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {"description": "A customer's business profile, with the "
                                                      "fields the content pack declares"})
        super().__init__(**kwargs)


# --- errors -----------------------------------------------------------------------------------

class ProblemSchema(Output):
    """RFC 9457 problem details: every error the API returns has this shape."""

    type = fields.String(metadata={"description": "A URI naming the kind of problem",
                                   "example": "urn:configurator:problem:invalid-profile"})
    title = fields.String(metadata={"description": "The HTTP status phrase or a short summary"})
    status = fields.Integer(metadata={"description": "The HTTP status code"})
    detail = fields.String(metadata={"description": "What went wrong, in words"})
    instance = fields.String(metadata={"description": "Incident id of a server error, for support"})
    errors = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String()),
        metadata={"description": "Each bad field's path (`profile.scores.loyalty`, "
                                 "`adjustments.0.module`, `page_size`, `body`) with its messages",
                  "example": {"profile.scores.loyalty": ["Must be greater than or equal to 1 "
                                                         "and less than or equal to 5."]}})


# --- configurations ---------------------------------------------------------------------------

class AdjustmentSchema(Schema):
    """One change a solution lead makes; the service checks that it makes sense."""

    action = fields.String(required=True, validate=validate.OneOf(ACTIONS),
                           metadata={"description": "accept a recommendation, add or remove a "
                                                    "module, set a quantity, or add a discount"})
    module = fields.String(validate=validate.Length(max=200),
                           metadata={"description": "The module id (all actions but a discount "
                                                    "on a family or the total)"})
    # The bounds content/adjustments.py holds them to, with its words, so the OpenAPI document
    # states them (a quantity or percent out of bounds is refused whatever the action).
    quantity = fields.Integer(strict=True, validate=validate.Range(
        min=0, max=MAX_QUANTITY, error=f"must be a whole number from 0 to {MAX_QUANTITY}"),
        metadata={"description": "For `quantity` and `add`"})
    percent = fields.Float(allow_nan=False, validate=validate.Range(
        min=0, max=100, min_inclusive=False, error="must be a number above 0 and at most 100"),
        metadata={"description": "For `discount`: above 0, at most 100",
                  "exclusiveMinimum": True})   # apispec writes the bound, not that it is open
    applies_to = fields.String(validate=validate.Length(max=200),
                               metadata={"description": "For `discount`: a module id, "
                                                        "`family:FAMILY` or `total`"})
    reason = fields.String(validate=validate.Length(max=500))
    by = fields.String(validate=validate.Length(max=100),
                       metadata={"description": "Who made the change (shown in reasons)"})


def _adjustments(**kwargs) -> fields.List:
    return fields.List(fields.Nested(AdjustmentSchema),
                       validate=validate.Length(max=MAX_ADJUSTMENTS),
                       metadata={"description": f"At most {MAX_ADJUSTMENTS} adjustments, applied "
                                                "in order"}, **kwargs)


class ConfigurationCreateSchema(Schema):
    profile = Profile(required=True, metadata={
        "description": "The customer's business profile, with the fields the content pack "
                       "declares (the `Profile` schema). `profile.name` finds or creates the "
                       "customer."})
    adjustments = _adjustments(load_default=list)


class RevisionCreateSchema(Schema):
    adjustments = _adjustments(required=True)
    profile = Profile(metadata={"description": "A new profile; the latest revision's profile "
                                               "when omitted"})


class IdempotencyHeaders(ma.Schema):
    """The optional `Idempotency-Key` header of a POST that stores something."""

    class Meta:
        unknown = ma.EXCLUDE        # every other header

    idempotency_key = fields.String(
        data_key="Idempotency-Key", load_default=None,
        validate=validate.Regexp(rf"^[\x21-\x7e]{{1,{IDEMPOTENCY_KEY_MAX}}}$", error=(
            f"must be 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters (a UUID is usual)")),
        metadata={"description": (
            "Makes a retry safe: sending the same key with the same request again (its answer "
            "was lost) returns the first answer, with `Idempotent-Replayed: true`, instead of "
            "storing it twice. A key belongs to the API key that sent it and is kept 24 hours; "
            "the same key with another body or URL is refused (422). Only a stored answer is "
            "kept: a refused request may be retried with the same key.")})


class CustomerSchema(Output):
    id = fields.Integer()
    name = fields.String()


# A stored profile was checked against its own content version's declaration (maybe not today's).
ANSWERED_PROFILE = {"description": "The profile the revision was computed with: valid by the "
                                   "declaration of its `content_version` (`Profile` is the "
                                   "served version's)"}
# Where a deal stands (services/workflow.py); the document's `status` is what the rules computed.
STATE = {"description": "Where the deal stands: draft (conflicts), pending_approval, approved, "
                        "rejected, sent, accepted, declined, expired (sent, past valid_until), "
                        "superseded (a newer revision replaced it)"}


class ConfigurationSchema(Output):
    id = fields.Integer()
    customer = fields.Nested(CustomerSchema)
    created_at = fields.DateTime()
    updated_at = fields.DateTime(metadata={"description": "When the latest revision was made"})
    revision = fields.Integer(metadata={"description": "The latest revision's number"})
    status = fields.String(validate=validate.OneOf(STATUSES))
    state = fields.String(validate=validate.OneOf(STATES), metadata=STATE)
    valid_until = fields.DateTime(allow_none=True, metadata={
        "description": "Until when a sent proposal can be accepted"})
    content_version = fields.String()
    profile = Profile(metadata=ANSWERED_PROFILE)
    adjustments = fields.List(fields.Dict())
    document = Document()


class ConfigurationSummarySchema(Output):
    id = fields.Integer()
    customer = fields.Nested(CustomerSchema)
    revision = fields.Integer(metadata={"description": "The latest revision's number"})
    status = fields.String(validate=validate.OneOf(STATUSES))
    totals = fields.Dict(metadata={"description": "The latest revision's totals"})
    content_version = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class RevisionSummarySchema(Output):
    configuration_id = fields.Integer()
    number = fields.Integer()
    created_at = fields.DateTime()
    created_by = fields.String(allow_none=True, metadata={
        "description": "Who made it: the user's e-mail (`api-key:<prefix>` for a key that acts "
                       "for no user)"})
    status = fields.String(validate=validate.OneOf(STATUSES))
    state = fields.String(validate=validate.OneOf(STATES), metadata=STATE)
    valid_until = fields.DateTime(allow_none=True, metadata={
        "description": "Until when a sent proposal can be accepted"})
    content_version = fields.String()
    totals = fields.Dict()
    adjustments = fields.List(fields.Dict())


class RevisionSchema(RevisionSummarySchema):
    via_api_key = fields.String(allow_none=True, metadata={
        "description": "The public prefix of the API key it was made through, if any"})
    state_changed_at = fields.DateTime(allow_none=True)
    state_changed_by = fields.String(allow_none=True)
    profile = Profile(metadata=ANSWERED_PROFILE)
    document = Document()


class PageSchema(Output):
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer(metadata={"description": "Items in all pages"})
    pages = fields.Integer()


class ConfigurationPageSchema(PageSchema):
    items = fields.List(fields.Nested(ConfigurationSummarySchema))


class RevisionPageSchema(PageSchema):
    items = fields.List(fields.Nested(RevisionSummarySchema))


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Integer(load_default=DEFAULT_PAGE_SIZE,
                               validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


class RevisionHeaders(IdempotencyHeaders):
    """`Idempotency-Key`, and `If-Match` to add a revision only on top of the one read."""

    if_match = fields.String(data_key="If-Match", load_default=None,
                             validate=validate.Length(min=1, max=200), metadata={
                                 "description": "The ETag of the configuration (or of its latest "
                                                "revision) the change was made on: 412 when a "
                                                "newer revision exists"})


class ConfigurationListArgs(PageArgs):
    customer = fields.String(validate=[validate.Length(min=1, max=CUSTOMER_NAME_MAX),
                                       validate.Regexp(r"^[^\x00]*$", error="must not contain "
                                                                           "NUL characters")],
                             metadata={"description": "Only customers whose name contains this "
                                                      "text (case-insensitive)"})
    state = fields.String(validate=validate.OneOf(STATES), metadata={
        "description": "Only configurations whose latest revision is in this state"})


# --- catalog ----------------------------------------------------------------------------------

class PriceSchema(Output):
    amount = fields.String(metadata={"description": "A decimal amount, as text", "example": "45"})
    currency = fields.String()
    per = fields.String()
    billing = fields.String(validate=validate.OneOf(BILLINGS))


class ModuleSchema(Output):
    id = fields.String()
    family = fields.String()
    name = fields.String()
    kind = fields.String(validate=validate.OneOf(KINDS))
    description = fields.String()
    price = fields.Nested(PriceSchema)
    requires = fields.List(fields.String())
    excludes = fields.List(fields.String())
    benefits = fields.List(fields.String())


class FamilySchema(Output):
    id = fields.String()
    title = fields.String()
    description = fields.String()
    modules = fields.List(fields.String(), metadata={"description": "Module ids"})


class FamilyDetailSchema(FamilySchema):
    modules = fields.List(fields.Nested(ModuleSchema))


class ModuleListArgs(Schema):
    family = fields.String(metadata={"description": "Only this family's modules"})
    kind = fields.String(validate=validate.OneOf(KINDS))


# --- service ----------------------------------------------------------------------------------

class ProfileDeclarationSchema(Output):
    content_version = fields.String()
    fields_ = fields.Dict(data_key="fields", attribute="fields", metadata={
        "description": "Field name -> {type, required, label, help?, min?, max?, pattern?, "
                       "values?, format?, default?, items?, fields?}, as declared in "
                       "rules/profile.yaml. Types: string (with `pattern`: a regular expression "
                       "the whole value matches), integer, number, boolean, enum (one of "
                       "`values`), date (yyyy-mm-dd), list (of `items`), object (of `fields`), "
                       "country: ISO 3166-1 alpha-2 (`format`; e.g. DE, CN), currency: ISO 4217 "
                       "(e.g. EUR, USD). Codes are exact: `cn` or ` CN` is refused with a "
                       "suggestion."})
    json_schema = fields.Dict(metadata={
        "description": "The same declaration as a JSON Schema (draft 2020-12) of the profiles "
                       "the service accepts: the OpenAPI document's `Profile` schema, with "
                       "`$schema`. A profile it refuses is refused with 422."})


class ContentProblemSchema(Output):
    file = fields.String()
    line = fields.Integer(allow_none=True)
    severity = fields.String(validate=validate.OneOf(("error", "warning")))
    message = fields.String()
    hint = fields.String()


class ContentStatusSchema(Output):
    root = fields.String(metadata={"description": "The content pack directory"})
    version = fields.String(allow_none=True, metadata={
        "description": "The version being served (none when no pack could be loaded)"})
    ok = fields.Boolean(metadata={"description": "Whether the last load succeeded"})
    loaded_at = fields.DateTime(allow_none=True, metadata={"description": "The last load attempt"})
    problems = fields.List(fields.Nested(ContentProblemSchema))


class DatabaseHealthSchema(Output):
    ok = fields.Boolean()
    backend = fields.String()
    revision = fields.String(allow_none=True, metadata={"description": "The schema's migration"})
    head = fields.String(metadata={"description": "The migration this code expects"})
    detail = fields.String()


class ContentHealthSchema(Output):
    ok = fields.Boolean(metadata={"description": "Whether a content pack is being served"})
    version = fields.String(allow_none=True)


class HealthSchema(Output):
    status = fields.String(validate=validate.OneOf(("ok", "unavailable")))
    database = fields.Nested(DatabaseHealthSchema)
    content = fields.Nested(ContentHealthSchema)


# --- documentation only -----------------------------------------------------------------------

class ReasonSchema(Output):
    rule = fields.String(metadata={"description": "The rule id, `catalog` or `adjustment:...`"})
    text = fields.String()


class LineSchema(Output):
    module = fields.String()
    name = fields.String()
    family = fields.String()
    kind = fields.String(validate=validate.OneOf(KINDS))
    quantity = fields.Integer()
    per = fields.String(metadata={"description": "The unit a price is per"})
    unit_price = fields.Float()
    billing = fields.String(validate=validate.OneOf(BILLINGS))
    discount_percent = fields.Float(metadata={"description": "Negative for a surcharge"})
    list_total = fields.Float(metadata={"description": "quantity x unit_price"})
    total = fields.Float(metadata={"description": "After discounts, per billing period"})
    reasons = fields.List(fields.Nested(ReasonSchema))
    discounts = fields.List(fields.Dict())


class RecommendationSchema(Output):
    module = fields.String()
    name = fields.String()
    family = fields.String()
    kind = fields.String(validate=validate.OneOf(KINDS))
    unit_price = fields.Float()
    billing = fields.String(validate=validate.OneOf(BILLINGS))
    reasons = fields.List(fields.Nested(ReasonSchema))


class ExclusionSchema(Output):
    module = fields.String()
    name = fields.String()
    family = fields.String()
    reasons = fields.List(fields.Nested(ReasonSchema))
    overrides = fields.List(fields.Nested(ReasonSchema),
                            metadata={"description": "The inclusions the exclusion beat"})


class ApprovalSchema(Output):
    role = fields.String()
    reasons = fields.List(fields.Nested(ReasonSchema))


TOTAL_HELP = {"annual_recurring": "12 x monthly + yearly",
              "first_year": "one_time + annual_recurring"}

# The document's totals, rounded to cents: one field per total key, then the currency.
TotalsSchema = Output.from_dict(
    {**{key: fields.Float(metadata={"description": TOTAL_HELP[key]} if key in TOTAL_HELP else {})
        for key in TOTAL_KEYS},
     "currency": fields.String()}, name="TotalsSchema")


class ConfigurationDocumentSchema(Output):
    """The configuration document: the same for the API and `configurator configure --json`."""

    status = fields.String(validate=validate.OneOf(STATUSES))
    content_version = fields.String()
    as_of = fields.Date(metadata={"description": "The day the configuration was computed for, "
                                                "which decides the rules in effect"})
    derived = fields.Dict(metadata={"description": "Facts set by `derive` actions"})
    lines = fields.List(fields.Nested(LineSchema))
    recommendations = fields.List(fields.Nested(RecommendationSchema))
    exclusions = fields.List(fields.Nested(ExclusionSchema))
    approvals = fields.List(fields.Nested(ApprovalSchema))
    service_level = fields.Dict()
    team = fields.List(fields.Dict())
    notes = fields.List(fields.Dict())
    warnings = fields.List(fields.Nested(ReasonSchema))
    conflicts = fields.List(fields.Dict(), metadata={
        "description": "Each names both modules and the rules behind them"})
    totals = fields.Nested(TotalsSchema)
    fired = fields.List(fields.Dict(), metadata={
        "description": f"The rules that fired, in order, through the stages {', '.join(STAGES)}"})


class RuleExplanationSchema(Output):
    rule = fields.String()
    ruleset = fields.String()
    stage = fields.String()
    file = fields.String()
    line = fields.Integer(allow_none=True)
    fired = fields.Boolean()
    why = fields.String(metadata={"description": "`fired`, or the first condition that failed "
                                                 "with the actual value"})
    effects = fields.String(metadata={"description": "What the rule does when it fires"})


class NearMissSchema(Output):
    rule = fields.String()
    change = fields.Dict(metadata={"description": "The profile change that makes the rule fire"})
    text = fields.String()


class ExplanationSchema(Output):
    as_of = fields.String()
    document = Document()
    matches_stored_document = fields.Boolean(metadata={
        "description": "Whether re-running gives exactly the stored document"})
    rules = fields.List(fields.Nested(RuleExplanationSchema))
    near_misses = fields.List(fields.Nested(NearMissSchema))
