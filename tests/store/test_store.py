"""The store: migrations, customers, configurations and revisions, content versions."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from configurator.content.pack import load_pack
from configurator.content.profile import ProfileInvalid
from configurator.services.configurations import configure
from configurator.services.content import Content
from configurator.services import configurations as service
from configurator.store import configurations as store
from configurator.store import migrate
from configurator.cli.db import register
from configurator.store.db import make_engine
from configurator.store.models import (ContentBlob, ContentFile, ContentVersion, Customer,
                                       Revision)

from helpers import REPO, unique


def _profile(example_profiles, name: str, index: int = 0) -> dict:
    return {**example_profiles[index]["profile"], "name": name}


# --- migrations -------------------------------------------------------------------------------

def test_migrations_match_the_models(database_url):
    """What `alembic check` does: the migrated schema has exactly what the models declare."""
    assert migrate.drift(database_url) == []


def test_database_is_at_the_newest_migration(database_url):
    assert migrate.current(database_url) == migrate.heads()


def test_migrations_upgrade_downgrade_and_upgrade_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(url)
    assert migrate.current(url) == migrate.heads()
    migrate.downgrade(url, "base")
    assert migrate.current(url) == ()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            tables = {r[0] for r in connection.execute(
                text("SELECT name FROM sqlite_master WHERE type='table'"))}
    finally:
        engine.dispose()
    assert tables == {"alembic_version"}
    migrate.upgrade(url)
    assert migrate.drift(url) == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'dir' / 'x.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
    assert (tmp_path / "sub" / "dir" / "x.db").exists()


def test_foreign_keys_are_enforced(db_session):
    db_session.add(Revision(configuration_id=999_999_999, number=1, profile={}, adjustments=[],
                            document={}, status="ok", totals={}, content_version="nope",
                            created_at=dt.datetime.now(dt.timezone.utc)))
    with pytest.raises(IntegrityError):
        db_session.flush()


# --- configurations ---------------------------------------------------------------------------

def test_configuration_and_first_revision_are_stored_together(db_session, content,
                                                              example_profiles):
    name = unique("Together")
    result = service.create_configuration(db_session, content, _profile(example_profiles, name))
    assert result["revision"] == 1
    revision = db_session.scalars(select(Revision).where(
        Revision.configuration_id == result["id"])).one()
    assert revision.number == 1
    assert revision.document == result["document"]
    assert revision.status == result["document"]["status"]
    assert revision.content_version == content.pack.version


def test_helpers_never_commit_so_nothing_is_half_written(database_url, content,
                                                         example_profiles):
    engine = make_engine(database_url)
    name = unique("Rolled back")
    try:
        with Session(engine) as session:
            service.create_configuration(session, content, _profile(example_profiles, name))
            session.rollback()
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(Customer)
                                  .where(Customer.name == name)) == 0
    finally:
        engine.dispose()


def test_customer_is_found_by_exact_name(db_session, content, example_profiles):
    name = unique("Same")
    first = service.create_configuration(db_session, content, _profile(example_profiles, name))
    second = service.create_configuration(db_session, content, _profile(example_profiles, name, 1))
    other = service.create_configuration(db_session, content,
                                       _profile(example_profiles, name.upper()))
    assert first["id"] != second["id"]
    assert first["customer"] == second["customer"]
    assert other["customer"]["id"] != first["customer"]["id"]


def test_invalid_profile_writes_nothing(db_session, content, example_profiles):
    name = unique("Invalid")
    profile = _profile(example_profiles, name)
    profile["scores"] = {**profile["scores"], "loyalty": 9}
    with pytest.raises(ProfileInvalid) as raised:
        service.create_configuration(db_session, content, profile)
    assert "scores.loyalty" in raised.value.errors
    assert db_session.scalar(select(func.count()).select_from(Customer)
                             .where(Customer.name == name)) == 0


def test_overlong_customer_name_is_a_profile_error(db_session, content, example_profiles):
    with pytest.raises(ProfileInvalid) as raised:
        service.create_configuration(db_session, content,
                                   _profile(example_profiles, "N" * 301))
    assert list(raised.value.errors) == ["name"]


def test_revisions_are_numbered_and_keep_the_full_adjustment_list(db_session, content,
                                                                  example_profiles):
    name = unique("Revised")
    created = service.create_configuration(db_session, content, _profile(example_profiles, name))
    recommended = created["document"]["recommendations"]
    assert recommended, "the example profile should get a recommendation"
    accept = [{"action": "accept", "module": recommended[0]["module"]}]
    second = service.add_revision(db_session, content, created["id"], accept)
    third = service.add_revision(db_session, content, created["id"], [])
    assert (second["number"], third["number"]) == (2, 3)
    assert second["adjustments"] == accept
    assert recommended[0]["module"] in [line["module"] for line in second["document"]["lines"]]
    assert third["document"] == created["document"]  # adjustments are not carried over
    assert second["profile"] == created["profile"]
    latest = store.get_configuration(db_session, created["id"])
    assert latest["revision"] == 3
    assert latest["document"] == third["document"]
    page = store.list_revisions(db_session, created["id"], page=1, page_size=2)
    assert [r["number"] for r in page.items] == [1, 2]
    assert (page.total, page.pages) == (3, 2)


def test_revision_numbers_are_unique_per_configuration(db_session, content, example_profiles):
    created = service.create_configuration(db_session, content,
                                         _profile(example_profiles, unique("Unique")))
    first = db_session.scalars(select(Revision).where(
        Revision.configuration_id == created["id"])).one()
    db_session.add(Revision(configuration_id=created["id"], number=1, profile={},
                            adjustments=[], document={}, status="ok", totals={},
                            content_version=first.content_version,
                            created_at=dt.datetime.now(dt.timezone.utc)))
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_a_new_profile_name_moves_the_configuration_to_that_customer(db_session, content,
                                                                     example_profiles):
    created = service.create_configuration(db_session, content,
                                         _profile(example_profiles, unique("Old name")))
    renamed = unique("New name")
    service.add_revision(db_session, content, created["id"], [],
                       profile=_profile(example_profiles, renamed))
    assert store.get_configuration(db_session, created["id"])["customer"]["name"] == renamed


def test_unknown_configuration_and_revision_are_not_found(db_session, content,
                                                          example_profiles):
    with pytest.raises(store.NotFound):
        store.get_configuration(db_session, 987_654_321)
    with pytest.raises(store.NotFound):
        service.add_revision(db_session, content, 987_654_321, [])
    created = service.create_configuration(db_session, content,
                                         _profile(example_profiles, unique("Lonely")))
    with pytest.raises(store.NotFound, match="no revision 2"):
        store.get_revision(db_session, created["id"], 2)


def test_timestamps_are_utc(db_session, content, example_profiles):
    created = service.create_configuration(db_session, content,
                                         _profile(example_profiles, unique("Clock")))
    db_session.expire_all()
    fetched = store.get_configuration(db_session, created["id"])
    assert fetched["created_at"].utcoffset() == dt.timedelta(0)
    assert abs(fetched["created_at"] - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(hours=1)


def test_customer_filter_escapes_like_wildcards(db_session, content, example_profiles):
    token = unique("Wild")
    service.create_configuration(db_session, content,
                               _profile(example_profiles, f"{token} 100% Freight_Co"))
    service.create_configuration(db_session, content,
                               _profile(example_profiles, f"{token} 1000 FreightXCo"))
    names = [i["customer"]["name"] for i in
             store.list_configurations(db_session, customer=f"{token} 100%").items]
    assert names == [f"{token} 100% Freight_Co"]
    assert store.list_configurations(db_session, customer="freight_co").total >= 1


# --- content versions -------------------------------------------------------------------------

def test_content_version_is_stored_once_with_its_files(db_session, content):
    pack = content.pack
    first = store.store_content_version(db_session, pack)
    again = store.store_content_version(db_session, pack)
    assert first == again == pack.version
    assert db_session.scalar(select(func.count()).select_from(ContentVersion)
                             .where(ContentVersion.version == pack.version)) == 1
    assert store.content_version_files(db_session, pack.version) == pack.files


def test_versions_share_the_bytes_of_unchanged_files(db_session, tmp_path, content):
    copy = tmp_path / "pack"
    for folder in ("catalog", "rules", "proposals"):
        if (REPO / folder).is_dir():
            shutil.copytree(REPO / folder, copy / folder)
    changed = copy / "rules" / "profile.yaml"
    changed.write_text(changed.read_text() + "\n# a comment changes the version\n")
    original, edited = content.pack, load_pack(copy)
    assert edited.version != original.version
    store.store_content_version(db_session, original)
    store.store_content_version(db_session, edited)
    assert store.content_version_files(db_session, edited.version) == edited.files
    digests = {hashlib.sha256(data).hexdigest()
               for data in [*original.files.values(), *edited.files.values()]}
    stored = set(db_session.scalars(select(ContentBlob.sha256)
                                    .where(ContentBlob.sha256.in_(digests))))
    assert stored == digests
    rows = db_session.scalar(select(func.count()).select_from(ContentFile).where(
        ContentFile.version.in_([original.version, edited.version])))
    assert rows == len(original.files) + len(edited.files)
    assert len(digests) == len({hashlib.sha256(d).hexdigest() for d in original.files.values()}) + 1


def test_stored_content_version_re_renders_a_configuration_exactly(db_session, content,
                                                                   example_profiles, tmp_path):
    example = example_profiles[0]
    created = service.create_configuration(db_session, content,
                                         _profile(example_profiles, unique("Replay")),
                                         example["adjustments"])
    exported = store.export_content_version(db_session, created["content_version"],
                                            tmp_path / "replay")
    replay = Content(exported, trial=False)
    assert replay.load().version == created["content_version"]
    assert configure(replay, created["profile"], created["adjustments"]) == created["document"]


def test_unknown_content_version_is_not_found(db_session):
    with pytest.raises(store.NotFound):
        store.content_version_files(db_session, "0" * 16)


# --- commands ---------------------------------------------------------------------------------

def _cli():
    import click

    @click.group()
    @click.option("--content", default=None)
    @click.pass_context
    def cli(ctx, content):
        ctx.ensure_object(dict)
        ctx.obj["content"] = content

    register(cli)
    return cli


def test_db_commands_migrate_and_report(tmp_path, monkeypatch, runner):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    before = runner.invoke(_cli(), ["db", "current"])
    assert before.exit_code == 0, before.output
    assert "not migrated" in before.output
    upgraded = runner.invoke(_cli(), ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    after = runner.invoke(_cli(), ["db", "current"])
    assert f"{migrate.heads()[0]} (newest)" in after.output
    assert migrate.drift(url) == []


def test_db_upgrade_reports_an_unreachable_database(monkeypatch, runner):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:secret@127.0.0.1:1/nothing")
    result = runner.invoke(_cli(), ["db", "upgrade"])
    assert result.exit_code == 1
    assert "cannot migrate the database" in result.output
    assert "Traceback" not in result.output
    assert "secret" not in result.output


def test_content_option_reaches_the_server_environment(monkeypatch, tmp_path, runner):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("CONFIGURATOR_CONTENT", "/nowhere")  # restored after the test
    result = runner.invoke(_cli(), ["--content", str(REPO), "db", "current"])
    assert result.exit_code == 0, result.output
    assert os.environ["CONFIGURATOR_CONTENT"] == str(Path(REPO).resolve())
