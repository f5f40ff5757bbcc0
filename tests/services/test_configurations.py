"""services/configurations.py: a solution lead's changes as one use case (the lock, the stale
check and the change list), the same for the web forms and any other caller."""
from __future__ import annotations

import pytest

from configurator.services import configurations as service
from configurator.store import configurations as store

from helpers import unique


def _configuration(db_session, content, example_profiles) -> dict:
    profile = {**example_profiles[0]["profile"], "name": unique("Changes")}
    return service.create_configuration(db_session, content, profile)


def _recommended(document: dict) -> list[str]:
    return [r["module"] for r in document["recommendations"]]


def test_several_changes_make_one_revision_holding_all_of_them(db_session, content,
                                                                example_profiles):
    created = _configuration(db_session, content, example_profiles)
    module = _recommended(created["document"])[0]
    line = created["document"]["lines"][0]["module"]
    changes = [{"action": "accept", "module": module},
               {"action": "quantity", "module": line, "quantity": 7}]
    revision = service.apply_changes(db_session, content, created["id"], changes,
                                     base_revision=1)
    assert revision["number"] == 2
    assert revision["adjustments"] == changes
    quantities = {x["module"]: x["quantity"] for x in revision["document"]["lines"]}
    assert module in quantities and quantities[line] == 7
    assert store.get_configuration(db_session, created["id"])["revision"] == 2


def test_a_change_made_on_an_older_revision_is_refused_and_changes_nothing(db_session, content,
                                                                           example_profiles):
    created = _configuration(db_session, content, example_profiles)
    module = _recommended(created["document"])[0]
    service.apply_changes(db_session, content, created["id"],
                          [{"action": "accept", "module": module}], base_revision=1)
    with pytest.raises(service.StaleRevision) as stale:
        service.apply_changes(db_session, content, created["id"],
                              [{"action": "remove", "module": module}], base_revision=1)
    assert (stale.value.base, stale.value.latest) == (1, 2)
    assert store.get_configuration(db_session, created["id"])["revision"] == 2


def test_a_change_about_the_same_module_replaces_the_earlier_one(db_session, content,
                                                                 example_profiles):
    created = _configuration(db_session, content, example_profiles)
    line = created["document"]["lines"][0]["module"]
    first = service.apply_changes(db_session, content, created["id"],
                                  [{"action": "quantity", "module": line, "quantity": 3}],
                                  base_revision=1)
    second = service.apply_changes(db_session, content, created["id"],
                                   [{"action": "quantity", "module": line, "quantity": 5}],
                                   base_revision=first["number"])
    assert second["adjustments"] == [{"action": "quantity", "module": line, "quantity": 5}]


def test_withdrawing_a_change_returns_it_and_a_revision_without_it(db_session, content,
                                                                    example_profiles):
    created = _configuration(db_session, content, example_profiles)
    line = created["document"]["lines"][0]["module"]
    change = {"action": "quantity", "module": line, "quantity": 3}
    service.apply_changes(db_session, content, created["id"], [change], base_revision=1)
    revision, withdrawn = service.withdraw_change(db_session, content, created["id"], 0,
                                                  base_revision=2)
    assert withdrawn == change and revision["adjustments"] == [] and revision["number"] == 3
    with pytest.raises(IndexError):
        service.withdraw_change(db_session, content, created["id"], 0, base_revision=3)
