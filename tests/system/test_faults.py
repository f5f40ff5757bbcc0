"""Faults: PostgreSQL stopped and restarted under load, a database that accepts connections but
never answers, a connection killed mid-request, an exhausted pool, a full disk (SQLite and
PostgreSQL), a proposal template or renderer that fails. The service answers 503 (507 for a full
disk) problem+json with `Retry-After` while it cannot work, recovers without a restart, and
never leaves half of a write behind; a failed render is a 500 of its own kind that stores
nothing.

No mocks: PostgreSQL is a cluster of the tests' own (pgcluster.py; the machine's is never
touched), the server is a real gunicorn (`configurator serve`), PDFs are really rendered, and a
full disk is SQLite's own SQLITE_FULL (`PRAGMA max_page_count`) or a real tmpfs filled up (as
root). No assertion is about time; the figures (request counts, recovery time) are in
docs/reliability.md, and CONFIGURATOR_FAULT_REPORT=<file> makes the restart and hang tests append
theirs to <file> as JSON lines.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from configurator.content.yamlfile import plain, read_yaml
from configurator.store.db import make_engine

from helpers import REPO, unique
from .pgcluster import PgCluster, free_port, wait_until

PROBLEM = "application/problem+json"
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
# A request that takes longer than this counts as hung (the client gives up). It is a bound for
# "never hangs", not a performance target: a request that needs the database fails within
# psycopg's connect_timeout (5 s, configurator.store.db) or the pool's wait (30 s), and a PDF
# within the render time limit (PROPOSAL_RENDER_TIMEOUT, 60 s); this is above all of them.
CLIENT_TIMEOUT_S = 120
SERVER_START_S = 180


def report(figures: dict) -> None:
    """Append a run's figures to $CONFIGURATOR_FAULT_REPORT (JSON lines), when it is set."""
    path = os.environ.get("CONFIGURATOR_FAULT_REPORT")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps(figures) + "\n")


def example(name: str, index: int = 0) -> dict:
    return {**plain(read_yaml(EXAMPLES[index % len(EXAMPLES)])), "name": name}


# --- a real server and HTTP clients -----------------------------------------------------------

@dataclass
class Reply:
    """What one HTTP request got: status None means no HTTP answer at all (reset, timeout)."""
    op: str
    started: float
    ended: float
    status: int | None
    mimetype: str = ""
    retry_after: str | None = None
    body: Any = None
    error: str | None = None
    sent: dict = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def call(base: str, method: str, path: str, key: str | None, body: Any = None,
         op: str = "", timeout: float = CLIENT_TIMEOUT_S, sent: dict | None = None) -> Reply:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, error.headers, error.read()
    except Exception as error:  # noqa: BLE001 - reset, refused, timed out: all "no answer"
        return Reply(op or path, started, time.monotonic(), None,
                     error=f"{type(error).__name__}: {error}", sent=sent or {})
    ended = time.monotonic()
    mimetype = (headers.get("Content-Type") or "").split(";")[0].strip()
    parsed: Any = raw
    if mimetype in ("application/json", PROBLEM):
        parsed = json.loads(raw)
    return Reply(op or path, started, ended, status, mimetype, headers.get("Retry-After"),
                 parsed, sent=sent or {})


class Server:
    """`configurator serve` (gunicorn, 2 workers x 4 threads) on a free port."""

    def __init__(self, database_url: str, folder: Path, workers: int = 2, threads: int = 4):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(REPO),
                    "SECRET_KEY": "faults", "CONFIGURATOR_CONTENT_WATCH": "0"}
        self.log_path = folder / "server.log"
        self.log = open(self.log_path, "w")
        code = (f"from configurator.cli import main; main(['--content', {str(REPO)!r}, 'serve', "
                f"'--port', '{self.port}', '--workers', '{workers}', '--threads', '{threads}'])")
        self.process = subprocess.Popen([sys.executable, "-c", code], env=self.env, cwd=folder,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        ready = wait_until(lambda: self.process.poll() is not None or
                           call(self.base, "GET", "/api/v1/health", None, timeout=5).status == 200,
                           SERVER_START_S, 0.5)
        assert ready and self.process.poll() is None, f"server did not start:\n{self.output()}"

    def api_key(self) -> str:
        done = subprocess.run(
            [sys.executable, "-c", "from configurator.cli import main; main()", "apikey", "create",
             "--name", "faults", "--scope", "configure", "--scope", "proposals",
             "--scope", "approve", "--rate-limit", "100000/minute"],
            env=self.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def workers(self) -> set[int]:
        """The gunicorn worker processes (children of the arbiter)."""
        found = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                found.add(int(stat.parent.name))
        return found

    def errors(self) -> str:
        """The server log's error reports (gunicorn's and the app's incidents), for messages."""
        lines, keep = [], 0
        for line in self.output().splitlines():
            if "Error handling request" in line or "incident" in line or "Traceback" in line:
                keep = 40
            if keep:
                lines.append(line)
                keep -= 1
        return "\n".join(lines[:200])

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self.log.close()
        return self.log_path.read_text(errors="replace")


class Load:
    """Client threads, until stopped, every reply kept: one renders proposals all the time (of
    the newest revision of its configurations, making a new revision after each, so a render is
    nearly always in flight), the others create configurations, add revisions and read."""

    def __init__(self, base: str, key: str, clients: int = 6, seed: int = 7):
        self.base, self.key = base, key
        self.replies: list[Reply] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(seed + i, i == 0), daemon=True)
                         for i in range(clients)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(CLIENT_TIMEOUT_S * 2)
        assert not any(t.is_alive() for t in self._threads), "a client thread hung"

    def snapshot(self) -> list[Reply]:
        with self._lock:
            return list(self.replies)

    def count(self, predicate) -> int:
        return sum(1 for reply in self.snapshot() if predicate(reply))

    def _keep(self, reply: Reply) -> Reply:
        with self._lock:
            self.replies.append(reply)
        return reply

    def _create(self, rnd: random.Random, seed: int, mine: list[list[int]]) -> None:
        name = unique(f"Fault {seed}")
        reply = self._keep(call(self.base, "POST", "/api/v1/configurations", self.key,
                                {"profile": example(name, rnd.randrange(4))}, op="create",
                                sent={"name": name}))
        if reply.status == 201:
            mine.append([reply.body["id"], 1])

    def _revise(self, entry: list[int]) -> None:
        reply = self._keep(call(self.base, "POST", f"/api/v1/configurations/{entry[0]}/revisions",
                                self.key, {"adjustments": []}, op="revise",
                                sent={"configuration_id": entry[0]}))
        if reply.status == 201:
            entry.append(reply.body["number"])

    def _run(self, seed: int, renders: bool) -> None:
        rnd = random.Random(seed)
        mine: list[list[int]] = []     # [configuration id, acknowledged revision numbers...]
        while not self._stop.is_set():
            roll = rnd.random()
            if not mine or (not renders and roll < 0.4):
                self._create(rnd, seed, mine)
            elif renders:
                entry = mine[-1]
                number = entry[-1]
                reply = self._keep(call(
                    self.base, "POST", f"/api/v1/configurations/{entry[0]}/revisions/{number}"
                    "/proposals", self.key, {}, op="propose",
                    sent={"configuration_id": entry[0], "revision": number}))
                if reply.status in (200, 201):
                    self._revise(entry)
            elif roll < 0.8:
                self._revise(rnd.choice(mine))
            else:
                entry = rnd.choice(mine)
                self._keep(call(self.base, "GET", f"/api/v1/configurations/{entry[0]}",
                                self.key, op="read", sent={"configuration_id": entry[0]}))


# --- what "nothing lost, nothing half-written" means, in SQL -----------------------------------

def assert_database_consistent(url: str) -> dict[str, int]:
    """Every configuration has its revisions 1..latest_revision, each with its whole document;
    every customer has a configuration; every revision's content version has its files, every
    file's bytes match their checksum; every proposal has its PDF, whose size and sha256 match.
    Returns the row counts."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            gaps = connection.execute(text(
                "SELECT c.id, c.latest_revision, count(r.id), min(r.number), max(r.number) "
                "FROM configurations c LEFT JOIN revisions r ON r.configuration_id = c.id "
                "GROUP BY c.id, c.latest_revision "
                "HAVING c.latest_revision < 1 OR count(r.id) <> c.latest_revision "
                "OR min(r.number) <> 1 OR max(r.number) <> c.latest_revision")).all()
            assert gaps == [], f"configurations with missing or extra revisions: {gaps}"
            lonely = connection.execute(text(
                "SELECT id, name FROM customers WHERE NOT EXISTS "
                "(SELECT 1 FROM configurations c WHERE c.customer_id = customers.id)")).all()
            assert lonely == [], f"customers without a configuration: {lonely}"
            bare = connection.execute(text(
                "SELECT DISTINCT r.content_version FROM revisions r WHERE NOT EXISTS "
                "(SELECT 1 FROM content_files f WHERE f.version = r.content_version)")).all()
            assert bare == [], f"content versions without files: {bare}"
            for digest, size, data in connection.execute(text(
                    "SELECT b.sha256, b.size, b.data FROM content_blobs b")):
                assert data is not None and len(data) == size, digest
                assert hashlib.sha256(bytes(data)).hexdigest() == digest
            revisions = 0
            for rid, status, totals, document, profile in connection.execute(text(
                    "SELECT id, status, totals, document, profile FROM revisions")):
                revisions += 1
                document = json.loads(document) if isinstance(document, str) else document
                totals = json.loads(totals) if isinstance(totals, str) else totals
                profile = json.loads(profile) if isinstance(profile, str) else profile
                assert document and document.get("lines"), f"revision {rid} has no document"
                assert profile and profile.get("name"), f"revision {rid} has no profile"
                assert totals == document["totals"], f"revision {rid}: totals differ"
                assert status, f"revision {rid} has no status"
            proposals = 0
            for pid, size, digest, pdf in connection.execute(text(
                    "SELECT id, size, sha256, pdf FROM proposals")):
                proposals += 1
                assert pdf is not None, f"proposal {pid} has no PDF"
                pdf = bytes(pdf)
                assert len(pdf) == size, f"proposal {pid}: {len(pdf)} bytes, size says {size}"
                assert hashlib.sha256(pdf).hexdigest() == digest, f"proposal {pid}: checksum"
                assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF"), pid
            configurations = connection.execute(text("SELECT count(*) FROM configurations")).scalar()
            return {"configurations": configurations, "revisions": revisions,
                    "proposals": proposals}
    finally:
        engine.dispose()


def assert_replies_stored(url: str, replies: list[Reply]) -> dict[str, int]:
    """Every acknowledged write is stored as acknowledged; a stored row that no client was told
    about comes only from a request that got no 2xx (its commit may have landed while the answer
    was lost): at most one per such request. Returns how many of those there were."""
    created = [r for r in replies if r.op == "create" and r.status == 201]
    revised = [r for r in replies if r.op == "revise" and r.status == 201]
    proposed = [r for r in replies if r.op == "propose" and r.status in (200, 201)]
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            stored = {name: (cid, latest) for cid, name, latest in connection.execute(text(
                "SELECT c.id, cu.name, c.latest_revision FROM configurations c "
                "JOIN customers cu ON cu.id = c.customer_id"))}
            for reply in created:
                assert stored.get(reply.sent["name"], (None,))[0] == reply.body["id"], reply.sent
            revisions = {(cid, n): json.loads(t) if isinstance(t, str) else t
                         for cid, n, t in connection.execute(text(
                             "SELECT configuration_id, number, totals FROM revisions"))}
            for reply in revised:
                key = (reply.body["configuration_id"], reply.body["number"])
                assert revisions.get(key) == reply.body["totals"], key
            pdfs = {pid: (digest, cid, n) for pid, digest, cid, n in connection.execute(text(
                "SELECT p.id, p.sha256, r.configuration_id, r.number FROM proposals p "
                "JOIN revisions r ON r.id = p.revision_id"))}
            for reply in proposed:
                assert pdfs.get(reply.body["id"]) == (reply.body["sha256"],
                                                      reply.sent["configuration_id"],
                                                      reply.sent["revision"]), reply.body
    finally:
        engine.dispose()
    # rows nobody was told about
    sent_names = {r.sent["name"] for r in replies if r.op == "create"}
    acknowledged_names = {r.sent["name"] for r in created}
    assert set(stored) <= sent_names, "a configuration no client asked for"
    unacknowledged = set(stored) - acknowledged_names
    failed_creates = {r.sent["name"] for r in replies if r.op == "create" and r.status != 201}
    assert unacknowledged <= failed_creates
    extra_revisions = 0
    by_configuration = Counter(cid for cid, _ in revisions)
    asked = Counter(r.sent["configuration_id"] for r in replies if r.op == "revise")
    got = Counter(r.body["configuration_id"] for r in revised)
    for cid, count in by_configuration.items():
        extra = count - 1 - got[cid]
        assert 0 <= extra <= asked[cid] - got[cid], (cid, count, asked[cid], got[cid])
        extra_revisions += extra
    extra_proposals = len(pdfs) - len({r.body["id"] for r in proposed})
    failed_proposals = sum(1 for r in replies if r.op == "propose" and r.status not in (200, 201))
    assert 0 <= extra_proposals <= failed_proposals
    return {"unacknowledged_configurations": len(unacknowledged),
            "unacknowledged_revisions": extra_revisions,
            "unacknowledged_proposals": extra_proposals}


def assert_unavailable(reply: Reply) -> None:
    """A 503 problem+json with a retry hint."""
    assert reply.status == 503, (reply.status, reply.error, reply.body)
    assert reply.mimetype == PROBLEM, reply.mimetype
    assert reply.retry_after and reply.retry_after.isdigit(), reply.retry_after
    assert reply.body["status"] == 503 and reply.body["detail"]


# --- PostgreSQL: a cluster of the tests' own ------------------------------------------------------

@pytest.fixture(scope="module")
def cluster() -> Any:
    reason = PgCluster.available()
    if reason:
        pytest.skip(reason)
    made = PgCluster()
    made.start()
    yield made
    made.destroy()


@pytest.fixture
def pg(cluster: PgCluster) -> Any:
    """The cluster, running; started again after a test that left it stopped or frozen."""
    if not cluster.running():
        cluster.start()
    yield cluster
    try:
        cluster.thaw()
    except (OSError, ValueError):
        pass
    if not cluster.running():
        cluster.start()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restart_under_load_gives_503_then_recovers_with_nothing_half_written(
        pg, tmp_path, mode):
    url = pg.create_database(f"faults_{mode}_{secrets.token_hex(3)}")
    server = Server(url, tmp_path)
    figures: dict[str, Any] = {"test": "postgres-restart", "mode": mode}
    load = None
    try:
        key = server.api_key()
        workers = server.workers()
        load = Load(server.base, key)
        load.start()
        assert wait_until(lambda: load.count(lambda r: r.status == 201) >= 12 and
                          load.count(lambda r: r.op == "propose" and r.status == 201) >= 1, 180), \
            "no load before the outage"

        # --- PostgreSQL goes away
        down_at = time.monotonic()
        pg.stop(mode)
        health_down = call(server.base, "GET", "/api/v1/health", None)
        assert wait_until(lambda: load.count(lambda r: r.status == 503) >= 20
                          and time.monotonic() - down_at > 8, 120), "no 503 while down"
        health_down_late = call(server.base, "GET", "/api/v1/health", None)

        # --- and comes back
        restart_at = time.monotonic()
        pg.start()
        up_at = time.monotonic()
        assert wait_until(lambda: load.count(lambda r: r.status == 201 and r.started >= up_at)
                          >= 1, 120), "no recovery"
        first_ok = min(r.ended for r in load.snapshot() if r.status == 201 and r.started >= up_at)
        health_up = call(server.base, "GET", "/api/v1/health", None)
        assert wait_until(lambda: load.count(lambda r: r.status == 201 and r.started >= up_at)
                          >= 12, 180), "too little work after recovery"
        load.stop()
        replies = load.snapshot()

        # --- what the clients saw
        for health in (health_down, health_down_late):
            assert_unavailable(health)
            assert health.body["checks"]["database"]["ok"] is False
            assert health.body["checks"]["content"]["ok"] is True
        assert health_up.status == 200 and health_up.body["database"]["ok"] is True
        statuses = Counter(r.status for r in replies)
        assert not [r for r in replies if r.status is None], \
            [r.error for r in replies if r.status is None][:5]
        assert set(statuses) <= {200, 201, 503}, (
            statuses, [(r.op, r.status, r.body) for r in replies if r.status not in
                       (200, 201, 503)][:5],
            server.errors())
        for reply in replies:
            if reply.status == 503:
                assert_unavailable(reply)
                assert reply.body["type"].endswith(":database-unavailable"), reply.body
        # once PostgreSQL accepts connections again, no request fails: the pool pings each
        # connection before use and replaces those the restart killed (pool_pre_ping)
        late = [r for r in replies if r.started >= up_at and r.status == 503]
        assert late == [], late[:3]
        # the same worker processes before and after: recovered without a restart
        assert server.workers() == workers

        # --- what the database holds
        counts = assert_database_consistent(url)
        unacknowledged = assert_replies_stored(url, replies)
        # every acknowledged proposal downloads with the checksum the client was given
        for reply in [r for r in replies if r.op == "propose" and r.status == 201][:10]:
            pdf = call(server.base, "GET", f"/api/v1/proposals/{reply.body['id']}/pdf", key)
            assert pdf.status == 200 and hashlib.sha256(pdf.body).hexdigest() == \
                reply.body["sha256"]
        # and everything works again
        after = call(server.base, "POST", "/api/v1/configurations", key,
                     {"profile": example(unique("After"))})
        assert after.status == 201, after.body
        during = [r for r in replies if down_at <= r.started < up_at]
        figures.update({
            "requests": len(replies), "statuses": {str(k): v for k, v in statuses.items()},
            "requests_during_outage": len(during),
            "statuses_during_outage": {str(k): v for k, v in
                                       Counter(r.status for r in during).items()},
            "by_operation": {op: {str(k): v for k, v in Counter(
                r.status for r in replies if r.op == op).items()}
                for op in ("create", "revise", "propose", "read")},
            "proposals_in_flight_at_outage": sum(
                1 for r in replies if r.op == "propose" and r.started < down_at < r.ended),
            "slowest_503_s": round(max(r.seconds for r in replies if r.status == 503), 3),
            "outage_s": round(up_at - down_at, 2), "pg_start_s": round(up_at - restart_at, 2),
            "recovery_s": round(first_ok - up_at, 3),
            "last_503_after_restart_s": round(max(
                [r.ended - up_at for r in replies if r.status == 503 and r.ended >= up_at],
                default=0.0), 3),
            **counts, **unacknowledged})
    finally:
        if load is not None:
            load._stop.set()
        output = server.stop()
        report(figures)
    assert "Traceback" not in output, output[-5000:]


# --- in-process apps ------------------------------------------------------------------------------

def make_app(url: str, content: Any) -> Any:
    from configurator.app import create_app

    return create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "faults",
                       "CONTENT_TRIAL": False}, content=content)


def problem_of(response: Any, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == PROBLEM, response.mimetype
    body = response.get_json(force=True)
    assert body["status"] == status and body["detail"]
    return body


def records(revisions: list[dict]) -> list[dict]:
    """Revisions as immutable records: without where the deal stands, which a newer revision
    changes (the one it replaces becomes superseded)."""
    moving = ("state", "state_changed_at", "state_changed_by", "valid_until")
    return [{k: v for k, v in revision.items() if k not in moving} for revision in revisions]


def snapshot(client: Any, configuration_id: int) -> dict:
    """Everything the API says about a configuration: itself, its revisions (with their
    documents) and its proposals."""
    base = f"/api/v1/configurations/{configuration_id}"
    configuration = client.get(base)
    assert configuration.status_code == 200, configuration.get_json()
    latest = configuration.get_json()["revision"]
    revisions = [client.get(f"{base}/revisions/{n}").get_json() for n in range(1, latest + 1)]
    listed = client.get(f"{base}/revisions?page_size=100").get_json()
    proposals = client.get(f"{base}/proposals").get_json()
    return {"configuration": configuration.get_json(), "revisions": revisions,
            "listed": listed, "proposals": proposals}


def table_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                    for table in ("customers", "configurations", "revisions", "proposals",
                                  "content_versions", "content_blobs", "approvals")}
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    from configurator.store import migrate

    url = f"sqlite:///{tmp_path / 'faults.db'}"
    migrate.upgrade(url)
    return url


WEB_PASSWORD = "faults-and-more-9"


def signed_in_web_client(app: Any) -> Any:
    """A test client signed in to the web UI as a solution lead."""
    import re

    from configurator.accounts import services as accounts
    from configurator.store import flaskdb as db

    email = f"lead-{secrets.token_hex(4)}@example.com"
    with app.app_context():
        session = db.session()
        accounts.create_user(session, email, "Fault Lead", "solution-lead", WEB_PASSWORD)
        session.commit()
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed = client.post("/sign-in", data={"csrf_token": csrf, "email": email,
                                           "password": WEB_PASSWORD})
    assert signed.status_code == 302, signed.get_data(as_text=True)
    return client


def csrf_token(client: Any, path: str) -> str:
    import re

    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


# --- a full disk (SQLite) -------------------------------------------------------------------------

def fill_up(filler: Path) -> None:
    """Write `filler` until its file system has not one byte left."""
    with open(filler, "wb", buffering=0) as out:
        for size in (1 << 20, 4096, 1):
            try:
                while out.write(b"\0" * size):
                    pass
            except OSError:
                pass


class FullDisk:
    """Makes the app's SQLite database unable to grow, for real, and gives the space back.

    `max_page_count`: every connection of the app's engine gets `PRAGMA max_page_count` at the
    file's current size, so any write that needs a new page fails with SQLITE_FULL, exactly as
    on a full disk. `tmpfs`: the database lives on a small tmpfs that a filler file fills up
    (needs root and mount; skipped otherwise).
    """

    def __init__(self, how: str, folder: Path):
        self.how, self.folder = how, folder
        self.limit: int | None = None
        self.mount = folder / "disk"
        self.filler = self.mount / "filler"
        if how == "tmpfs":
            self.mount.mkdir()
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs",
                                   str(self.mount)], capture_output=True, text=True)
            if done.returncode != 0:
                self.mount.rmdir()
                pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")

    @property
    def url(self) -> str:
        place = self.mount if self.how == "tmpfs" else self.folder
        return f"sqlite:///{place / 'full.db'}"

    def attach(self, engine: Any) -> None:
        from sqlalchemy import event

        self.engine = engine

        @event.listens_for(engine, "connect")
        def _limit(dbapi_connection: Any, record: Any) -> None:
            if self.limit is not None:
                dbapi_connection.execute(f"PRAGMA max_page_count = {self.limit}")

    def fill(self) -> None:
        with self.engine.connect() as connection:
            # an empty write-ahead log: the next write must allocate, not reuse, its frames
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
        if self.how == "max_page_count":
            self.limit = pages
        else:
            fill_up(self.filler)
        self.engine.dispose()   # every connection from now on is a new one

    def free(self) -> None:
        self.limit = None
        if self.filler.exists():
            self.filler.unlink()
        self.engine.dispose()

    def close(self) -> None:
        if self.how == "tmpfs":
            self.engine.dispose()
            if subprocess.run(["umount", str(self.mount)], capture_output=True).returncode:
                subprocess.run(["umount", "-l", str(self.mount)], capture_output=True)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["max_page_count", "tmpfs"])
def test_a_full_disk_gives_507_and_leaves_every_configuration_as_it_was(tmp_path, content, how):
    from configurator.store import migrate

    disk = FullDisk(how, tmp_path)
    try:
        migrate.upgrade(disk.url)
        app = make_app(disk.url, content)
        disk.attach(app.extensions["configurator.db"].engine)
        from helpers import keyed_client
        client = keyed_client(app)
        web = signed_in_web_client(app)
        created = client.post("/api/v1/configurations",
                              json={"profile": example(unique("Full Disk"), 3)})
        assert created.status_code == 201, created.get_json()
        cid = created.get_json()["id"]
        base = f"/api/v1/configurations/{cid}"
        assert client.post(f"{base}/revisions", json={"adjustments": []}).status_code == 201
        assert client.post(f"{base}/revisions/1/proposals", json={}).status_code == 201
        before, counts = snapshot(client, cid), table_counts(disk.url)
        page_path = f"/configurations/{cid}/revisions/2/proposal"
        form = csrf_token(web, page_path)

        disk.fill()
        # every write fails with a clear answer and stores nothing
        writes = [client.post(f"{base}/revisions", json={"adjustments": []}),
                  client.post(f"{base}/revisions/2/proposals", json={}),
                  client.post("/api/v1/configurations",
                              json={"profile": example(unique("Full Disk"), 1)})]
        for response in writes:
            body = problem_of(response, 507)
            assert body["type"].endswith(":storage-full"), body
            assert "nothing was stored" in body["detail"]
            assert response.headers["Retry-After"].isdigit()
        # reads still work, and the web says what happened instead of a 500 page
        assert snapshot(client, cid) == before
        page = web.post(page_path, data={"csrf_token": form, "template": "standard",
                                         "language": "en"})
        assert page.status_code == 507 and page.mimetype == "text/html"
        assert "No space to store this" in page.get_data(as_text=True)
        assert page.headers["Retry-After"].isdigit()
        assert table_counts(disk.url) == counts

        disk.free()
        # space is back: the same requests work, with no gap in the numbering
        revised = client.post(f"{base}/revisions", json={"adjustments": []})
        assert revised.status_code == 201 and revised.get_json()["number"] == 3
        proposal = client.post(f"{base}/revisions/2/proposals", json={})
        assert proposal.status_code == 201, proposal.get_json()
        assert records(snapshot(client, cid)["revisions"][:2]) == records(before["revisions"])
        assert_database_consistent(disk.url)
        app.extensions["configurator.db"].dispose()
    finally:
        disk.close()


# --- a proposal that cannot be rendered -----------------------------------------------------------

BREAKAGES = {
    # a template bug that only shows at render time (the checks pass it)
    "template-raises": ("{% set shown = 0 %}<p>{{ 100 / shown }}</p>\n", "proposal-template-broken",
                        "ZeroDivisionError"),
    # HTML that WeasyPrint cannot lay out (nested too deep: RecursionError inside WeasyPrint)
    "renderer-fails": ("{% for i in range(2500) %}<div>{% endfor %}deep"
                       "{% for i in range(2500) %}</div>{% endfor %}\n", "proposal-render-failed",
                       "could not be rendered"),
}


@pytest.mark.slow
@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_failing_proposal_render_is_reported_and_changes_nothing(sqlite_url, tmp_path,
                                                                   breakage):
    import shutil

    from configurator.services.content import Content
    from helpers import keyed_client

    snippet, kind, said = BREAKAGES[breakage]
    root = tmp_path / "pack"
    for folder in ("catalog", "rules", "proposals"):
        shutil.copytree(REPO / folder, root / folder)
    content = Content(root, trial=False)
    assert content.load().ok
    app = make_app(sqlite_url, content)
    client, web = keyed_client(app), signed_in_web_client(app)
    created = client.post("/api/v1/configurations",
                          json={"profile": example(unique("Render Fault"), 2)})
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["id"]
    base = f"/api/v1/configurations/{cid}"
    first = client.post(f"{base}/revisions/1/proposals", json={})
    assert first.status_code == 201, first.get_json()

    # a product manager publishes a template that fails when rendering; the checks pass it
    html = root / "proposals" / "standard" / "proposal.html"
    good = html.read_text()
    html.write_text(good.replace("</body>", snippet + "</body>"))
    assert content.load().ok
    assert client.post(f"{base}/revisions", json={"adjustments": []}).status_code == 201
    before, counts = snapshot(client, cid), table_counts(sqlite_url)

    for _ in range(2):   # the same every time, and never a half-stored proposal
        body = problem_of(client.post(f"{base}/revisions/2/proposals", json={}), 500)
        assert body["type"].endswith(f":{kind}"), body
        assert "Nothing was stored" in body["detail"] or "nothing was stored" in body["detail"]
        assert said in json.dumps(body)
        if kind == "proposal-template-broken":   # where: the file and the line that raised
            line = good[:good.index("</body>")].count("\n") + 1
            assert body["file"] == f"proposals/standard/proposal.html:{line}", body
    # the web form reports it on the page and changes nothing either
    page = f"/configurations/{cid}/revisions/2/proposal"
    posted = web.post(page, data={"csrf_token": csrf_token(web, page), "template": "standard",
                                  "language": "en"})
    assert posted.status_code == 302, posted.status_code
    shown = web.get(posted.headers["Location"]).get_data(as_text=True)
    assert "nothing was stored" in shown or "template is broken" in shown
    assert snapshot(client, cid) == before
    assert table_counts(sqlite_url) == counts
    # revision 1 keeps its own content version, templates and stored PDF
    again = client.post(f"{base}/revisions/1/proposals", json={})
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]

    # the template is fixed: a new revision renders
    html.write_text(good)
    assert content.load().ok
    assert client.post(f"{base}/revisions", json={"adjustments": []}).status_code == 201
    fixed = client.post(f"{base}/revisions/3/proposals", json={})
    assert fixed.status_code == 201, fixed.get_json()
    assert_database_consistent(sqlite_url)
    app.extensions["configurator.db"].dispose()


# --- the database hangs, the pool runs dry, pages while it is down --------------------------------

@pytest.mark.slow
def test_a_database_that_accepts_but_never_answers_gives_503_within_the_connect_timeout(
        pg, content):
    """A postmaster that is stopped (SIGSTOP) still has its connections accepted by the kernel,
    then never answers: without a connect timeout every request would hang."""
    from configurator.store import migrate
    from helpers import keyed_client

    url = pg.create_database(f"faults_hang_{secrets.token_hex(3)}")
    migrate.upgrade(url)
    app = make_app(url, content)
    client = keyed_client(app)
    created = client.post("/api/v1/configurations", json={"profile": example(unique("Hang"))})
    assert created.status_code == 201
    cid = created.get_json()["id"]
    counts = table_counts(url)
    app.extensions["configurator.db"].engine.dispose()   # the next request must connect
    app.extensions["configurator.api_key_cache"].clear()

    answers: dict[str, Any] = {}

    def ask(name: str, method: str, path: str, body: Any = None) -> None:
        started = time.monotonic()
        answers[name] = (app.test_client().open(
            path, method=method, json=body,
            headers={"Authorization": client.environ_base["HTTP_AUTHORIZATION"]}),
            time.monotonic() - started)

    asks = {"read": ("GET", f"/api/v1/configurations/{cid}", None),
            "write": ("POST", "/api/v1/configurations", {"profile": example(unique("Hang"))}),
            "health": ("GET", "/api/v1/health", None)}
    pg.freeze()
    try:
        threads = [threading.Thread(target=ask, args=(name, *how), daemon=True)
                   for name, how in asks.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(CLIENT_TIMEOUT_S)
        hung = [name for name in asks if name not in answers]
    finally:
        pg.thaw()
    assert hung == [], f"requests hung on a database that does not answer: {hung}"
    for name, (response, _seconds) in answers.items():
        body = problem_of(response, 503)
        assert response.headers["Retry-After"].isdigit()
        assert body["type"].endswith(":unavailable" if name == "health"
                                     else ":database-unavailable"), body
    assert answers["health"][0].get_json()["checks"]["database"]["ok"] is False
    assert table_counts(url) == counts
    assert client.get(f"/api/v1/configurations/{cid}").status_code == 200
    assert client.post("/api/v1/configurations",
                       json={"profile": example(unique("Hang"))}).status_code == 201
    app.extensions["configurator.db"].dispose()
    report({"test": "frozen-postmaster",
            **{f"{name}_s": round(seconds, 2) for name, (_, seconds) in answers.items()}})


def test_an_exhausted_connection_pool_gives_503_not_500(sqlite_url, content):
    """Every pooled connection busy longer than the pool's timeout: the request is turned away
    with 503 and Retry-After (SQLAlchemy's pool TimeoutError), and served again once one is
    free."""
    from configurator.store.db import Database
    from configurator.store.flaskdb import EXTENSION
    from helpers import keyed_client

    app = make_app(sqlite_url, content)
    client = keyed_client(app)
    created = client.post("/api/v1/configurations", json={"profile": example(unique("Pool"))})
    assert created.status_code == 201
    app.extensions[EXTENSION].dispose()
    small = Database(sqlite_url, pool_size=1, max_overflow=0, pool_timeout=0.5)
    app.extensions[EXTENSION] = small
    app.extensions["configurator.api_key_cache"].clear()
    web = app.test_client()
    with small.engine.connect():   # the only connection, held
        for response in (client.get(f"/api/v1/configurations/{created.get_json()['id']}"),
                         client.post("/api/v1/configurations",
                                     json={"profile": example(unique("Pool"))})):
            body = problem_of(response, 503)
            assert body["type"].endswith(":database-unavailable")
            assert response.headers["Retry-After"].isdigit()
        health = web.get("/api/v1/health")
        assert problem_of(health, 503)["checks"]["database"]["ok"] is False
    assert client.get(f"/api/v1/configurations/{created.get_json()['id']}").status_code == 200
    small.dispose()


@pytest.mark.slow
def test_web_pages_answer_a_friendly_503_while_the_database_is_down(pg, content):
    from configurator.store import migrate

    url = pg.create_database(f"faults_web_{secrets.token_hex(3)}")
    migrate.upgrade(url)
    app = make_app(url, content)
    web = signed_in_web_client(app)
    assert web.get("/customers").status_code == 200
    form = csrf_token(web, "/customers/new")
    pg.stop("fast")
    try:
        for response in (web.get("/customers"),
                         web.post("/customers/new", data={"csrf_token": form,
                                                          "name": unique("Web Down")})):
            page = response.get_data(as_text=True)
            assert response.status_code == 503 and response.mimetype == "text/html", page[:500]
            assert "Temporarily unavailable" in page and "Traceback" not in page
            assert response.headers["Retry-After"].isdigit()
    finally:
        pg.start()
    assert web.get("/customers").status_code == 200
    app.extensions["configurator.db"].dispose()


@pytest.mark.slow
def test_a_full_postgres_disk_gives_507_and_stores_nothing_half(pg, content):
    """The database's tablespace on a tmpfs that fills up (its write-ahead log stays on the real
    disk, so PostgreSQL itself keeps running): PostgreSQL's disk_full (53100) is a 507."""
    from configurator.store import migrate
    from helpers import keyed_client

    name = f"faults_full_{secrets.token_hex(3)}"
    mount = pg.tmpfs_tablespace(name, "48m")
    if mount is None:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    url = pg.create_database(name, tablespace=name)
    migrate.upgrade(url)
    app = make_app(url, content)
    client = keyed_client(app)
    created = client.post("/api/v1/configurations", json={"profile": example(unique("PG Full"))})
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["id"]
    base = f"/api/v1/configurations/{cid}"
    assert client.post(f"{base}/revisions", json={"adjustments": []}).status_code == 201
    before, counts = snapshot(client, cid), table_counts(url)

    fill_up(mount / "filler")
    # a PDF needs new pages: it cannot be stored
    body = problem_of(client.post(f"{base}/revisions/2/proposals", json={}), 507)
    assert body["type"].endswith(":storage-full"), body
    # smaller writes may still fit in free space inside pages; either way, whole or nothing
    answers = [client.post(f"{base}/revisions", json={"adjustments": []}),
               client.post("/api/v1/configurations",
                           json={"profile": example(unique("PG Full"), 2)})]
    for response in answers:
        assert response.status_code in (201, 507), response.get_json()
        if response.status_code == 507:
            assert response.get_json()["type"].endswith(":storage-full")
    assert records(snapshot(client, cid)["revisions"][:2]) == records(before["revisions"])
    assert table_counts(url)["proposals"] == counts["proposals"]
    assert_database_consistent(url)

    (mount / "filler").unlink()
    proposal = client.post(f"{base}/revisions/2/proposals", json={})
    assert proposal.status_code == 201, proposal.get_json()
    assert client.post(f"{base}/revisions", json={"adjustments": []}).status_code == 201
    assert_database_consistent(url)
    app.extensions["configurator.db"].dispose()


@pytest.mark.slow
def test_a_session_killed_after_the_view_answered_does_not_turn_the_answer_into_a_500(
        pg, content):
    """The database drops the request's connection between the view's last query and the end
    of the request (a restart, `pg_terminate_backend`, a failover): rolling back the read
    transaction at the end of the request fails. That must not replace the view's answer with
    a 500, and the next request gets a fresh connection."""
    from configurator.store import flaskdb as db
    from configurator.store import migrate
    from helpers import keyed_client

    url = pg.create_database(f"faults_killed_{secrets.token_hex(3)}")
    migrate.upgrade(url)
    app = make_app(url, content)

    def answered_then_killed() -> str:
        pid = db.session().execute(text("SELECT pg_backend_pid()")).scalar()
        pg.terminate(pid)
        return "answered"

    app.add_url_rule("/faults/answered-then-killed", view_func=answered_then_killed)
    client = keyed_client(app)
    response = client.get("/faults/answered-then-killed")
    assert response.status_code == 200 and response.get_data(as_text=True) == "answered"
    created = client.post("/api/v1/configurations", json={"profile": example(unique("Killed"))})
    assert created.status_code == 201, created.get_json()
    app.extensions["configurator.db"].dispose()
