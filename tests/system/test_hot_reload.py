"""A running service picks up edited content within seconds, and never a broken pack."""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from configurator.app import create_app
from helpers import make_api_key, write_pack

RULE = """
    ruleset: r
    stage: solution
    rules:
      - id: gateways
        then: [{{include: gateway, quantity: {quantity}}}]
    """
PROFILE = {"name": "Reload Ltd", "industry": "food", "sites": 2}


def call(base: str, key: str, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def gateway_quantity(base: str, key: str) -> int:
    doc = call(base, key, "POST", "/api/v1/configurations", {"profile": PROFILE})["document"]
    return next(line["quantity"] for line in doc["lines"] if line["module"] == "gateway")


def wait_for(condition, seconds: float = 20.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if condition():
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s")


@pytest.fixture
def server(tmp_path, database_url):
    root = write_pack(tmp_path / "pack", {"r.yaml": RULE.format(quantity=3)})
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test",
                      "CONFIGURATOR_CONTENT": str(root), "CONTENT_TRIAL": True,
                      "CONTENT_WATCH_SECONDS": 0.3})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", root, make_api_key(app)
    httpd.shutdown()
    app.extensions["configurator.content"].stop_watching()
    app.extensions["configurator.db"].dispose()


@pytest.mark.slow
def test_an_edited_rule_serves_within_seconds_and_a_broken_one_never(server):
    base, root, key = server
    rule_file: Path = root / "rules" / "r.yaml"
    assert gateway_quantity(base, key) == 3
    first = call(base, key, "GET", "/api/v1/content")["version"]

    rule_file.write_text(rule_file.read_text().replace("quantity: 3", "quantity: 7"))
    wait_for(lambda: gateway_quantity(base, key) == 7)
    second = call(base, key, "GET", "/api/v1/content")
    assert second["ok"] and second["version"] != first

    rule_file.write_text(rule_file.read_text().replace("quantity: 7", "quantity: profile.sitez"))
    wait_for(lambda: not call(base, key, "GET", "/api/v1/content")["ok"])
    status = call(base, key, "GET", "/api/v1/content")
    assert status["version"] == second["version"]                  # still the last good pack
    assert status["problems"][0]["file"] == "rules/r.yaml"
    assert "`profile.sitez` is not declared" in status["problems"][0]["message"]
    assert gateway_quantity(base, key) == 7


@pytest.mark.slow
def test_reload_endpoint_reports_the_outcome(server):
    base, root, key = server
    (root / "rules" / "r.yaml").write_text("ruleset: r\nstage: nowhere\nrules: []\n")
    status = call(base, key, "POST", "/api/v1/content/reload")
    assert status["ok"] is False
    assert status["problems"][0]["message"].startswith("`stage: nowhere` is not a stage")
    assert gateway_quantity(base, key) == 3
