"""What the tests import (conftest.py holds only fixtures, and no test imports it): small content
packs written into a temporary directory, for tests that pin one behaviour; API keys, keyed test
clients and unique names; the browser tests' users and sign-in.

Child processes of some tests import this module too (PYTHONPATH=tests), so it imports only the
content and the engine at the top; what needs the app imports it inside the function."""
from __future__ import annotations

import secrets
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from configurator.content.pack import load_pack
from configurator.content.adjustments import parse_adjustments
from configurator.engine.pipeline import Pipeline

REPO = Path(__file__).resolve().parents[1]

CATALOG = {
    "catalog/platform.yaml": """
        family: platform
        title: Platform
        modules:
          - id: core
            name: Platform core
            kind: software
            description: The platform.
            price: {amount: 100, currency: USD, per: site, billing: monthly}
          - id: sensor
            name: Sensor
            kind: hardware
            description: A sensor.
            price: {amount: 10.50, currency: USD, per: sensor, billing: one_time}
            requires: [core]
          - id: gateway
            name: Gateway
            kind: hardware
            description: A gateway.
            price: {amount: 200, currency: USD, per: unit, billing: one_time}
          - id: onprem
            name: On-premise hosting
            kind: service
            description: Hosting in the customer's data centre.
            price: {amount: 5000, currency: USD, per: install, billing: one_time}
            excludes: [cloud]
          - id: cloud
            name: Cloud hosting
            kind: service
            description: Hosted by us.
            price: {amount: 300, currency: USD, per: month, billing: monthly}
            excludes: [onprem]
        """,
    "catalog/support.yaml": """
        family: support
        title: Support
        modules:
          - id: support-basic
            name: Basic support
            kind: support
            description: Office hours.
            price: {amount: 1000, currency: USD, per: year, billing: yearly}
          - id: training
            name: Training
            kind: service
            description: A day of training.
            price: {amount: 999.99, currency: USD, per: day, billing: one_time}
        """,
}
PROFILE = """
    fields:
      name: {type: string, required: true}
      industry: {type: enum, values: [food, pharma, logistics, telecom], required: true}
      country: {type: string}
      sites: {type: integer, min: 1, required: true}
      employees: {type: integer, min: 1}
      revenue: {type: number, min: 0}
      founded: {type: date}
      public: {type: boolean}
      needs: {type: list, items: {type: enum, values: [cold-chain, multi-site, 24x7]}, default: []}
      scores:
        type: object
        fields:
          loyalty: {type: integer, min: 1, max: 5}
          risk: {type: integer, min: 1, max: 5}
      contacts:
        type: list
        items:
          type: object
          fields:
            name: {type: string}
            role: {type: enum, values: [economic-buyer, user, influencer]}
    """


def write_pack(root: Path, rules: dict[str, str] | None = None, *, catalog: dict | None = None,
               profile: str | None = PROFILE, tests: dict[str, str] | None = None,
               extra: dict[str, str] | None = None) -> Path:
    files = dict(catalog if catalog is not None else CATALOG)
    if profile is not None:
        files["rules/profile.yaml"] = profile
    for name, text in (rules or {}).items():
        files[name if "/" in name else f"rules/{name}"] = text
    for name, text in (tests or {}).items():
        files[f"rules/tests/{name}"] = text
    files.update(extra or {})
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    (root / "catalog").mkdir(exist_ok=True)
    (root / "rules").mkdir(exist_ok=True)
    return root


class Configurator:
    """A pack loaded and compiled; `run(profile)` returns the configuration document."""

    def __init__(self, root: Path):
        self.pack = load_pack(root)
        self.pipeline = Pipeline(self.pack)

    def run(self, profile: dict | None = None, adjustments: list | None = None, **fields) -> dict:
        data = {"name": "Acme", "industry": "food", "sites": 1, **(profile or {}), **fields}
        clean = self.pack.profile.validate(data)
        return self.pipeline.configure(clean, parse_adjustments(adjustments or [], self.pack.catalog))

    def close(self) -> None:
        self.pipeline.close()


def lines(doc: dict) -> dict[str, dict]:
    return {line["module"]: line for line in doc["lines"]}


def fired(doc: dict) -> list[str]:
    return [f["rule"] for f in doc["fired"]]


# --- the app: API keys, keyed clients, names --------------------------------------------------

def make_api_key(app: Any, scopes: tuple[str, ...] | None = None, **options: Any) -> str:
    """A new API key in `app`'s database (every scope unless told)."""
    from configurator.accounts import apikeys
    from configurator.accounts.roles import SCOPES

    with app.extensions["configurator.db"].sessions() as session:
        _, key = apikeys.create(session, "tests", SCOPES if scopes is None else scopes, **options)
        session.commit()
    return key


def keyed_client(app: Any, key: str | None = None) -> Any:
    """A test client sending `key` (a new all-scopes key unless given) with every request."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key or make_api_key(app)}"
    return client


def person_client(app: Any, name: str, approver_roles: tuple[str, ...] = (),
                  role: str = "solution-lead") -> Any:
    """A test client whose key acts for a new user `name` holding `approver_roles`; the
    client's `user` attribute is that user (an accounts.services.Account)."""
    from configurator.accounts import services as accounts

    email = f"{name.lower().replace(' ', '.')}.{secrets.token_hex(3)}@example.com"
    with app.extensions["configurator.db"].sessions() as session:
        user = accounts.create_user(session, email, name, role, secrets.token_hex(8))
        user = accounts.set_approver_roles(session, user.id, list(approver_roles))
        session.commit()
    client = keyed_client(app, make_api_key(app, user_id=user.id))
    client.user = user
    return client


def unique(prefix: str = "Test") -> str:
    """A company name no other test uses."""
    return f"{prefix} {secrets.token_hex(4)}"


# --- browser tests (tests/browser/) ---------------------------------------------------------

PASSWORD = "browser-test-password"
USERS = {"lead": ("lea.lead@example.com", "Lea Lead", "solution-lead"),
         "pm": ("pat.pm@example.com", "Pat Product", "product-manager"),
         "admin": ("ada.admin@example.com", "Ada Admin", "admin")}


@dataclass
class LiveServer:
    url: str
    app: Any

    def user(self, who: str) -> tuple[str, str]:
        return USERS[who][0], PASSWORD


def sign_in(page: Any, server: LiveServer, who: str = "lead") -> None:
    email, password = server.user(who)
    page.goto(server.url + "/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("text=Signed in as")
