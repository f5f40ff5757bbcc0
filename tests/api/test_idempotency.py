"""Idempotency keys: a POST retried with the same `Idempotency-Key` gets the first answer again
and stores nothing more; the same key with another request is refused; on SQLite and
PostgreSQL, sequentially and concurrently."""
from __future__ import annotations

import datetime as dt
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select, update

from configurator.store import idempotency
from configurator.store.models import IdempotentRequest

from helpers import keyed_client, make_api_key, unique

PROBLEM = "application/problem+json"


def new_request(example_profiles, name: str) -> dict:
    case = example_profiles[0]
    return {"profile": {**case["profile"], "name": name}, "adjustments": case["adjustments"]}


def keyed(key: str) -> dict:
    return {"Idempotency-Key": key}


def stored_for(client, name: str) -> int:
    response = client.get("/api/v1/configurations", query_string={"customer": name})
    assert response.status_code == 200
    return response.get_json()["total"]


def test_a_retry_with_the_same_key_gets_the_first_answer_and_stores_nothing_more(
        client, example_profiles):
    name = unique("Retry")
    body, key = new_request(example_profiles, name), str(uuid.uuid4())
    first = client.post("/api/v1/configurations", json=body, headers=keyed(key))
    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    again = client.post("/api/v1/configurations", json=body, headers=keyed(key))
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert again.get_json() == first.get_json()
    assert stored_for(client, name) == 1


def test_the_replay_is_the_first_answer_even_after_later_revisions(client, example_profiles):
    name = unique("Replay")
    body, key = new_request(example_profiles, name), str(uuid.uuid4())
    first = client.post("/api/v1/configurations", json=body, headers=keyed(key)).get_json()
    revised = client.post(f"/api/v1/configurations/{first['id']}/revisions",
                          json={"adjustments": []})
    assert revised.status_code == 201
    again = client.post("/api/v1/configurations", json=body, headers=keyed(key))
    assert again.get_json() == first and again.get_json()["revision"] == 1


def test_the_same_json_in_another_key_order_is_the_same_request(client, example_profiles):
    name = unique("Order")
    body, key = new_request(example_profiles, name), str(uuid.uuid4())
    first = client.post("/api/v1/configurations", json=body, headers=keyed(key))
    reordered = {"adjustments": body["adjustments"],
                 "profile": dict(reversed(list(body["profile"].items())))}
    again = client.post("/api/v1/configurations", json=reordered, headers=keyed(key))
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]


def test_the_same_key_with_another_request_is_refused_and_stores_nothing(client,
                                                                         example_profiles):
    key = str(uuid.uuid4())
    first_name, other_name = unique("First"), unique("Other")
    assert client.post("/api/v1/configurations", json=new_request(example_profiles, first_name),
                       headers=keyed(key)).status_code == 201
    refused = client.post("/api/v1/configurations",
                          json=new_request(example_profiles, other_name), headers=keyed(key))
    assert refused.status_code == 422 and refused.mimetype == PROBLEM
    problem = refused.get_json()
    assert problem["type"].endswith("idempotency-key-reused")
    assert list(problem["errors"]) == ["headers.Idempotency-Key"]
    assert stored_for(client, other_name) == 0
    # the same key on another URL is another request too
    configuration = client.get("/api/v1/configurations",
                               query_string={"customer": first_name}).get_json()["items"][0]
    refused = client.post(f"/api/v1/configurations/{configuration['id']}/revisions",
                          json=new_request(example_profiles, first_name), headers=keyed(key))
    assert refused.status_code == 422
    assert refused.get_json()["type"].endswith("idempotency-key-reused")


def test_without_a_key_every_post_stores(client, example_profiles):
    name = unique("Unkeyed")
    body = new_request(example_profiles, name)
    ids = {client.post("/api/v1/configurations", json=body).get_json()["id"] for _ in range(2)}
    assert len(ids) == 2 and stored_for(client, name) == 2


def test_keys_belong_to_the_api_key_that_sent_them(app, client, example_profiles):
    name = unique("Owner")
    body, key = new_request(example_profiles, name), str(uuid.uuid4())
    other = keyed_client(app, make_api_key(app))
    first = client.post("/api/v1/configurations", json=body, headers=keyed(key))
    second = other.post("/api/v1/configurations", json=body, headers=keyed(key))
    assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
    assert second.get_json()["id"] != first.get_json()["id"]
    assert stored_for(client, name) == 2


def test_a_refused_request_is_not_remembered(client, example_profiles):
    name = unique("Fixed")
    body, key = new_request(example_profiles, name), str(uuid.uuid4())
    broken = {**body, "profile": {**body["profile"], "employees": "many"}}
    refused = client.post("/api/v1/configurations", json=broken, headers=keyed(key))
    assert refused.status_code == 422
    assert refused.get_json()["type"].endswith("invalid-profile")
    # the corrected request may take the same key: nothing was stored under it
    fixed = client.post("/api/v1/configurations", json=body, headers=keyed(key))
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers


def test_a_key_is_forgotten_after_a_day(app, client, example_profiles):
    name = unique("Expired")
    body, key = new_request(example_profiles, name), str(uuid.uuid4())
    first = client.post("/api/v1/configurations", json=body, headers=keyed(key)).get_json()
    with app.extensions["configurator.db"].sessions() as session:
        session.execute(update(IdempotentRequest).where(IdempotentRequest.key == key).values(
            created_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=25)))
        session.commit()
    later = client.post("/api/v1/configurations", json=body, headers=keyed(key))
    assert later.status_code == 201 and "Idempotent-Replayed" not in later.headers
    assert later.get_json()["id"] != first["id"]


def test_expired_keys_are_purged_now_and_then(app, client, example_profiles, monkeypatch):
    old_key, new_key = str(uuid.uuid4()), str(uuid.uuid4())
    client.post("/api/v1/configurations", json=new_request(example_profiles, unique("Old")),
                headers=keyed(old_key))
    sessions = app.extensions["configurator.db"].sessions

    def kept(key: str) -> int:
        with sessions() as session:
            return len(session.scalars(select(IdempotentRequest.id)
                                       .where(IdempotentRequest.key == key)).all())

    with sessions() as session:
        session.execute(update(IdempotentRequest).where(IdempotentRequest.key == old_key).values(
            created_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=25)))
        session.commit()
    monkeypatch.setattr(idempotency, "_last_purge", time.monotonic())       # not due yet
    client.post("/api/v1/configurations", json=new_request(example_profiles, unique("New")),
                headers=keyed(str(uuid.uuid4())))
    assert kept(old_key) == 1
    monkeypatch.setattr(idempotency, "_last_purge", -idempotency.PURGE_EVERY_SECONDS)   # due
    client.post("/api/v1/configurations", json=new_request(example_profiles, unique("New")),
                headers=keyed(new_key))
    assert kept(old_key) == 0 and kept(new_key) == 1


def test_a_revision_retried_with_its_key_is_added_once(client, example_profiles):
    name = unique("Revise")
    configuration = client.post("/api/v1/configurations",
                                json=new_request(example_profiles, name)).get_json()
    url = f"/api/v1/configurations/{configuration['id']}/revisions"
    body, key = {"adjustments": []}, str(uuid.uuid4())
    first = client.post(url, json=body, headers=keyed(key))
    again = client.post(url, json=body, headers=keyed(key))
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json() and first.get_json()["number"] == 2
    assert again.headers["Location"].endswith(f"{url}/2")
    revisions = client.get(url).get_json()
    assert revisions["total"] == 2


def test_a_malformed_key_is_refused_naming_the_header(client, example_profiles):
    body = new_request(example_profiles, unique("Malformed"))
    for key in ("", "x" * 256, "with space", "caf\u00e9"):
        refused = client.post("/api/v1/configurations", json=body,
                              headers={"Idempotency-Key": key.encode("utf-8").decode("latin-1")})
        assert refused.status_code == 422, key
        assert list(refused.get_json()["errors"]) == ["headers.Idempotency-Key"], key
    assert client.post("/api/v1/configurations", json=body,
                       headers=keyed("x" * 255)).status_code == 201


def test_concurrent_retries_with_one_key_store_one_configuration(app, api_key,
                                                                 example_profiles):
    name = unique("Concurrent")
    body, key = new_request(example_profiles, name), str(uuid.uuid4())

    def send(_: int) -> tuple[int, bool, int]:
        response = keyed_client(app, api_key).post("/api/v1/configurations", json=body,
                                                   headers=keyed(key))
        return (response.status_code, "Idempotent-Replayed" in response.headers,
                response.get_json()["id"])

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert {status for status, _, _ in answers} == {201}
    assert len({identifier for _, _, identifier in answers}) == 1
    assert sorted(replayed for _, replayed, _ in answers) == [False] + [True] * 7
    assert stored_for(keyed_client(app, api_key), name) == 1


def test_the_openapi_document_declares_the_header(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, names in (("/api/v1/configurations", ["Idempotency-Key"]),
                        ("/api/v1/configurations/{configuration_id}/revisions",
                         ["Idempotency-Key", "If-Match"])):
        operation = spec["paths"][path]["post"]
        header = [p for p in operation["parameters"] if p["in"] == "header"]
        assert [p["name"] for p in header] == names
        assert not any(p.get("required", False) for p in header)
        assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]
