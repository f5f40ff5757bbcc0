"""Shared fixtures: a real, migrated database (SQLite, and PostgreSQL when reachable), the demo
content, the Flask app, its test client, a click runner for the commands, and a database session
that rolls back.

Database tests run once per backend: every test that uses `database_url` (through `app`,
`client` or `db_session`) is collected as `[sqlite]` and `[postgresql]`. PostgreSQL is used when
CONFIGURATOR_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/test) answers; each test
session creates its own database `configurator_test_<random>` there and drops it at the end.
"""
from __future__ import annotations

import glob
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from configurator.app import create_app
from configurator.config import normalise_database_url
from configurator.content.yamlfile import plain, read_yaml
from configurator.services.content import Content
from configurator.store import migrate
from configurator.store.db import make_engine
from helpers import REPO, keyed_client, make_api_key

POSTGRES_ADMIN_URL = os.environ.get("CONFIGURATOR_TEST_POSTGRES",
                                    "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_admin() -> Any:
    """An autocommit psycopg connection to the admin database, or None when unreachable."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(normalise_database_url(POSTGRES_ADMIN_URL))
    try:
        return psycopg.connect(host=url.host, port=url.port or 5432, user=url.username,
                               password=url.password, dbname=url.database, autocommit=True,
                               connect_timeout=3)
    except psycopg.OperationalError:
        return None


@pytest.fixture(scope="session",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database, built by running the migrations, for the whole test session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'configurator.db'}"
        migrate.upgrade(url)
        yield url
        return
    admin = _postgres_admin()
    if admin is None:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")
    name = f"configurator_test_{secrets.token_hex(6)}"
    from sqlalchemy.engine import make_url
    base = make_url(normalise_database_url(POSTGRES_ADMIN_URL))
    url = base.set(database=name).render_as_string(hide_password=False)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            migrate.upgrade(url)
            yield url
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def content() -> Iterator[Content]:
    """The demo content pack, loaded once (no trial subprocess: that is not the subject here)."""
    loaded = Content(REPO, trial=False)
    status = loaded.load()
    assert status.ok, [str(p) for p in status.problems]
    yield loaded


@pytest.fixture
def app(database_url: str, content: Content) -> Iterator[Any]:
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test",
                      "CONTENT_TRIAL": False}, content=content)
    yield app
    app.extensions["configurator.db"].dispose()


@pytest.fixture
def api_key(app: Any) -> str:
    """A valid API key with every scope, for `Authorization: Bearer <key>`."""
    return make_api_key(app)


@pytest.fixture
def client(app: Any, api_key: str) -> Any:
    """The app's test client, sending `api_key` with every request (web pages ignore it)."""
    return keyed_client(app, api_key)


@pytest.fixture
def runner() -> CliRunner:
    """click's test runner, for the `configurator` command and the command groups the tests build
    from one package's commands; it runs them in this process."""
    return CliRunner()


@pytest.fixture
def db_session(database_url: str) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test; the code under test
    may commit (it commits a savepoint)."""
    engine = make_engine(database_url)
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint",
                      expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()
        engine.dispose()


@pytest.fixture(scope="session")
def example_profiles() -> list[dict[str, Any]]:
    """The demo's example customers (rules/tests/*.yaml), each {name, profile, adjustments}."""
    found = []
    for path in sorted(glob.glob(str(REPO / "rules" / "tests" / "*.yaml"))):
        for test in plain(read_yaml(Path(path))):
            found.append({"name": test["name"], "profile": test["profile"],
                          "adjustments": test.get("adjustments") or []})
    assert len(found) >= 4
    return found
