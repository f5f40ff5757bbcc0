"""The API documents the configuration document that content/document.py types: every key of
every part, in the same order (the OpenAPI document lists them in that order)."""
from __future__ import annotations

import pytest

from configurator.api import schemas
from configurator.content import document


@pytest.mark.parametrize("schema, typed", [
    (schemas.ConfigurationDocumentSchema, document.ConfigurationDocument),
    (schemas.LineSchema, document.Line),
    (schemas.RecommendationSchema, document.Recommendation),
    (schemas.ExclusionSchema, document.Exclusion),
    (schemas.ApprovalSchema, document.Approval),
    (schemas.ReasonSchema, document.Reason),
    (schemas.TotalsSchema, document.Totals),
], ids=lambda x: getattr(x, "__name__", ""))
def test_the_api_schema_names_every_key_of_the_typed_document(schema, typed):
    assert list(schema().fields) == list(typed.__annotations__)


def test_the_api_takes_the_statuses_and_billings_from_the_document():
    status = schemas.ConfigurationDocumentSchema().fields["status"]
    assert tuple(status.validate.choices) == document.STATUSES
    billing = schemas.LineSchema().fields["billing"]
    assert tuple(billing.validate.choices) == document.BILLINGS
