"""Concurrency (#7, point 4): threads and gunicorn workers under load give exactly the
single-request results, and a content reload in the middle of load serves every request wholly
from one content version.

- Threads in one process share one durable-rules engine (configurator/engine/durable_adapter.py):
  many threads configuring different profiles, on one pipeline or on two pipelines of different
  packs at once, get exactly what one thread alone gets.
- Real gunicorn servers (`configurator serve`, sync and gthread workers) on a real database take
  a few hundred mixed requests at once; every response equals the document computed in-process
  for the same profile and adjustments.
- A content reload under load: a server on a copy of the demo pack, its watcher looking every
  0.2 s; a price is changed mid-load, then a broken rule is written. Every response is the
  in-process document of the content version it names (pack copy A or B), never a mixture, never
  the broken pack, never an error.
- The two faults those runs found, pinned deterministically: a pipeline a request had taken was
  freed by a reload before it ran (a 503), and PDFs read proposal templates from the edited
  folder instead of the served version's files.

The figures of these runs are in docs/reliability.md (## Concurrency); no assertion here is about
time. `CONFIGURATOR_LOAD_REPORT=FILE` appends one JSON line of figures per server run.
"""
from __future__ import annotations

import copy
import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from configurator.accounts import apikeys
from configurator.content.problems import ContentError
from configurator.services.configurations import configure
from configurator.services.content import MAX_RETIRED, ArchivedPipelines, Content
from configurator.store.db import Database
from helpers import REPO, unique

PACK_FOLDERS = ("catalog", "rules", "proposals")
CONFIGURATOR = (Path(sys.executable).with_name("configurator")
                if Path(sys.executable).with_name("configurator").exists()
                else Path(shutil.which("configurator") or "configurator"))

# Version B of the pack differs from A in one place that shows in every document: the platform
# core's monthly price per site (a line's unit price, its total and the solution's totals).
PRICE_FILE = "catalog/platform.yaml"
PRICE_A = "price: {amount: 1200, currency: USD, per: site, billing: monthly}"
PRICE_B = "price: {amount: 1275, currency: USD, per: site, billing: monthly}"
# A rule that cannot load: it compares a profile field that is not declared.
BROKEN_RULE = """\
ruleset: broken-mid-load
stage: solution
rules:
  - id: broken-mid-load
    when: {profile.sitez: {gt: 1}}
    then: [{include: platform-core}]
"""


# --- profiles and expected documents ----------------------------------------------------------

def cases(example_profiles: list[dict], count: int) -> list[tuple[dict, list]]:
    """`count` distinct (profile, adjustments): the example customers, then variations of them
    (more sites and employees, a quantity change, a discount, an accepted platform core)."""
    adjustments = [
        [],
        [{"action": "quantity", "module": "platform-core", "quantity": 3, "by": "load"}],
        [{"action": "discount", "percent": 4, "applies_to": "total", "reason": "Load test"}],
        [{"action": "add", "module": "platform-core", "by": "load"}],
    ]
    out = []
    for i in range(count):
        base = example_profiles[i % len(example_profiles)]["profile"]
        round_ = i // len(example_profiles)
        profile = copy.deepcopy(base)
        if round_:
            profile["name"] = f"{base['name']} {round_}"
            profile["sites"] = base["sites"] + round_
            profile["employees"] = base["employees"] + 7 * round_
        out.append((profile, adjustments[round_ % len(adjustments)]))
    assert len({json.dumps(c, sort_keys=True) for c in out}) == count
    return out


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def copy_pack(target: Path) -> Path:
    """The demo pack's catalog/, rules/ and proposals/ copied to `target`."""
    for folder in PACK_FOLDERS:
        shutil.copytree(REPO / folder, target / folder)
    return target


def set_price(root: Path, old: str, new: str) -> None:
    """Change the platform core's price in one atomic step (a rename over the file)."""
    path = root / PRICE_FILE
    text = path.read_text()
    assert text.count(old) == 1
    staged = path.with_name(".platform.yaml.new")
    staged.write_text(text.replace(old, new))
    os.replace(staged, path)


def loaded(root: Path) -> Content:
    content = Content(root, trial=False)
    status = content.load()
    assert status.ok, [str(p) for p in status.problems]
    return content


def expected_documents(content: Content, work: list[tuple[dict, list]]) -> list[dict]:
    """Each case configured alone, one after the other, as JSON."""
    return [as_json(configure(content, profile, adjustments)) for profile, adjustments in work]


# --- 1. threads in one process ------------------------------------------------------------------

def run_threads(threads: int, jobs: list, call) -> list:
    """`call(job)` for every job from `threads` threads released together; results in order."""
    start = threading.Barrier(threads)

    def worker(chunk: list[int]) -> list[tuple[int, Any]]:
        start.wait(30)
        out = []
        for index in chunk:
            try:
                out.append((index, call(jobs[index])))
            except Exception as exc:          # reported, not raised: the assertion shows it
                out.append((index, exc))
        return out

    order = list(range(len(jobs)))
    random.Random(7).shuffle(order)
    chunks = [order[i::threads] for i in range(threads)]
    results: list[Any] = [None] * len(jobs)
    with ThreadPoolExecutor(threads) as pool:
        for part in pool.map(worker, chunks):
            for index, value in part:
                results[index] = value
    return results


def test_threads_on_one_pipeline_get_the_single_threaded_documents(content, example_profiles):
    work = cases(example_profiles, 64)
    alone = expected_documents(content, work)
    jobs = [i % len(work) for i in range(len(work) * 4)]         # each case four times
    results = run_threads(8, jobs, lambda i: as_json(configure(content, *work[i])))
    wrong = [(i, r) for i, r in zip(jobs, results) if r != alone[i]]
    assert not wrong, f"{len(wrong)} of {len(jobs)} differ; first: {wrong[0]}"


def test_threads_on_two_packs_at_once_get_each_packs_own_documents(tmp_path, example_profiles):
    """Two pipelines (packs A and B) live in the same engine; threads interleave evaluations on
    both. A document of one pack never carries anything of the other."""
    pack_a = loaded(copy_pack(tmp_path / "a"))
    root_b = copy_pack(tmp_path / "b")
    set_price(root_b, PRICE_A, PRICE_B)
    pack_b = loaded(root_b)
    assert pack_a.pipeline.pack.version != pack_b.pipeline.pack.version
    work = cases(example_profiles, 32)
    alone = {"a": expected_documents(pack_a, work), "b": expected_documents(pack_b, work)}
    assert all(x != y for x, y in zip(alone["a"], alone["b"]))        # the price shows in each
    jobs = [(which, i) for i in range(len(work)) for which in "ab"] * 3
    packs = {"a": pack_a, "b": pack_b}
    results = run_threads(6, jobs, lambda job: as_json(configure(packs[job[0]], *work[job[1]])))
    wrong = [(job, r) for job, r in zip(jobs, results) if r != alone[job[0]][job[1]]]
    assert not wrong, f"{len(wrong)} of {len(jobs)} differ; first: {wrong[0]}"


def test_a_pipeline_taken_before_a_reload_still_configures(tmp_path, example_profiles):
    """A request reads the served pipeline once, then works with it (the API reads it before it
    waits for the database's write lock). When the content is reloaded in between, that pipeline
    must still run: its result is wholly of the old version, not a 503."""
    root = copy_pack(tmp_path / "pack")
    content = loaded(root)
    profile = example_profiles[0]["profile"]
    taken = content.pipeline
    before = as_json(configure(taken, profile))
    set_price(root, PRICE_A, PRICE_B)
    assert content.load().ok and content.pipeline is not taken
    assert as_json(configure(taken, profile)) == before
    after = as_json(configure(content, profile))
    assert after["content_version"] == content.pipeline.pack.version != before["content_version"]
    assert after != {**before, "content_version": after["content_version"]}


def test_an_archived_pipeline_dropped_by_another_request_still_configures(example_profiles):
    """Explaining old revisions: request 1 is given the rebuilt pipeline of version v1, request 2
    then asks for another old version, which pushes v1 out of the few kept; request 1 must still
    run on the pipeline it was given."""
    files = dict(loaded(REPO).pipeline.pack.files)
    other = {**files, PRICE_FILE: files[PRICE_FILE].replace(PRICE_A.encode(), PRICE_B.encode())}
    archive = ArchivedPipelines(keep=1)
    profile = example_profiles[0]["profile"]
    taken = archive.get("v1", files)
    archive.get("v2", other)
    assert configure(taken, profile)["content_version"] == taken.pack.version
    assert archive.get("v1", files) is not taken                 # it was dropped


def test_replaced_pipelines_are_freed_after_their_grace_and_beyond_the_cap(tmp_path,
                                                                          example_profiles):
    """Keeping replaced pipelines for a while must not keep them for ever: the engine's rulesets
    of a replaced pipeline are freed once its grace is over, or once MAX_RETIRED newer ones have
    been replaced; a caller still holding it then gets the "content was replaced" error."""
    root = copy_pack(tmp_path / "pack")
    content = loaded(root)
    profile = example_profiles[0]["profile"]
    taken = content.pipeline
    set_price(root, PRICE_A, PRICE_B)
    assert content.load().ok
    content.free_retired()                             # within the grace: kept
    configure(taken, profile)
    content.free_retired(grace=0)                      # grace over: freed
    with pytest.raises(ContentError, match="replaced"):
        configure(taken, profile)

    taken = content.pipeline
    prices = itertools.cycle([(PRICE_B, PRICE_A), (PRICE_A, PRICE_B)])
    for _ in range(MAX_RETIRED):
        set_price(root, *next(prices))
        assert content.load().ok
    configure(taken, profile)                          # the oldest of MAX_RETIRED kept
    set_price(root, *next(prices))
    assert content.load().ok
    with pytest.raises(ContentError, match="replaced"):
        configure(taken, profile)


def test_the_change_hook_runs_when_content_is_replaced_or_freed_not_when_a_load_fails(
        tmp_path):
    """The server freezes its long-lived objects for the garbage collector (gcpause) after
    every change of what is served: a new pipeline, replaced ones freed. A reload that keeps
    the serving pack changes nothing and calls nothing."""
    root = copy_pack(tmp_path / "pack")
    content = loaded(root)
    calls = []
    content.on_change = lambda: calls.append(content.pipeline.pack.version)
    first = content.pipeline.pack.version
    assert content.load().ok and calls == []                        # the same files: no change
    set_price(root, PRICE_A, PRICE_B)
    assert content.load().ok and calls == [content.pipeline.pack.version] != [first]
    (root / "rules" / "broken.yaml").write_text("rules: [\n")
    assert not content.load().ok and len(calls) == 1
    content.free_retired()                                          # within the grace: none
    assert len(calls) == 1
    content.free_retired(grace=0)                                   # the first pipeline freed
    assert len(calls) == 2


def test_freezing_hides_the_served_content_from_the_collector_and_frees_what_was_released(
        tmp_path):
    import gc
    import weakref

    from configurator.gcpause import freeze_long_lived

    class Node:
        pass
    try:
        content = loaded(copy_pack(tmp_path / "pack"))
        released = Node()
        released.self = released                      # a cycle only the collector can free
        gone = weakref.ref(released)
        freeze_long_lived()
        assert gc.get_freeze_count() > 10_000          # the pack and pipeline among them
        assert not any(o is content.pipeline for o in gc.get_objects())
        del released                                   # released after it was frozen ...
        assert gone() is not None
        freeze_long_lived()                            # ... reclaimed by the next freeze
        assert gone() is None
    finally:
        gc.unfreeze()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_proposal_is_rendered_from_its_versions_templates_not_the_edited_files(
        tmp_path, database_url, example_profiles):
    """PDFs read the proposal templates when they are rendered. An edit on disk that is not
    served (refused because another file in the same save is broken, or not yet reloaded) must
    not reach a PDF stored as the version being served (the wording it changes is there as it
    was)."""
    import io

    import pypdf

    from configurator.app import create_app
    from helpers import keyed_client

    def pdf_text(client, configuration: dict) -> tuple[str, str]:
        made = client.post(f"/api/v1/configurations/{configuration['id']}/revisions/1/proposals",
                           json={"template": "standard", "language": "en"})
        assert made.status_code == 201, made.get_json()
        pdf = client.get(f"/api/v1/proposals/{made.get_json()['id']}/pdf").data
        pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
        return made.get_json()["content_version"], "\n".join(p.extract_text() or "" for p in pages)

    root = copy_pack(tmp_path / "pack")
    content = loaded(root)
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test",
                      "CONTENT_TRIAL": False}, content=content)
    client = keyed_client(app)
    profile = {**example_profiles[0]["profile"], "name": unique("Proposal version")}
    first = client.post("/api/v1/configurations", json={"profile": profile}).get_json()
    served = first["content_version"]

    messages = root / "proposals" / "standard" / "messages" / "en.yaml"
    original = "A solution designed around your business"
    messages.write_text(messages.read_text().replace(original, "Edited wording"))
    (root / "rules" / "broken-mid-load.yaml").write_text(BROKEN_RULE)
    status = content.load()
    assert not status.ok and status.version == served
    version, text = pdf_text(client, first)
    assert version == served
    assert original in text and "Edited wording" not in text

    app.extensions["configurator.db"].dispose()


@pytest.mark.slow
def test_threads_during_repeated_reloads_get_whole_documents_of_one_version(tmp_path,
                                                                           example_profiles):
    """Eight threads configure through the served `Content` while another thread flips the pack
    between A and B (reloading it each time): every document equals the single-threaded one of
    the version it names."""
    root = copy_pack(tmp_path / "pack")
    work = cases(example_profiles, 32)
    root_b = copy_pack(tmp_path / "b")
    set_price(root_b, PRICE_A, PRICE_B)
    versions = {}
    for source in (root, root_b):
        reference = loaded(source)
        versions[reference.pipeline.pack.version] = expected_documents(reference, work)
    content = loaded(root)
    stop = threading.Event()
    reloads = []

    def flip() -> None:
        prices = itertools.cycle([(PRICE_A, PRICE_B), (PRICE_B, PRICE_A)])
        while not stop.is_set():
            set_price(root, *next(prices))
            status = content.load()
            reloads.append(status.version)
            assert status.ok
            time.sleep(0.01)

    flipper = threading.Thread(target=flip, daemon=True)
    flipper.start()
    try:
        jobs = [i % len(work) for i in range(len(work) * 8)]
        results = run_threads(8, jobs, lambda i: as_json(configure(content, *work[i])))
    finally:
        stop.set()
        flipper.join(30)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, f"{len(errors)} errors; first: {errors[0]!r}"
    seen = {r["content_version"] for r in results}
    assert seen <= set(versions)
    wrong = [i for i, r in zip(jobs, results) if r != versions[r["content_version"]][i]]
    assert not wrong, f"{len(wrong)} of {len(jobs)} documents differ from their version's"
    assert len(set(reloads)) == 2 and len(reloads) >= 4


# --- gunicorn servers ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_key(database_url: str) -> str:
    database = Database(database_url)
    try:
        with database.sessions() as session:
            _, key = apikeys.create(session, "load", ["configure", "content:admin"],
                                    rate_limit="1000000/minute")
            session.commit()
    finally:
        database.dispose()
    return key


class Server:
    """`configurator serve` (gunicorn) in its own process group, on a free port."""

    def __init__(self, database_url: str, content: Path, workers: int, threads: int,
                 log: Path, watch: float = 0):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {**os.environ, "DATABASE_URL": database_url, "CONFIGURATOR_CONTENT": str(content),
               "CONFIGURATOR_CONTENT_WATCH": str(watch), "SECRET_KEY": "concurrency-test"}
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [str(CONFIGURATOR), "serve", "--port", str(self.port), "--workers", str(workers),
                 "--threads", str(threads)],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, key: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited:\n{self.log.read_text()[-3000:]}")
            try:
                status, body = request(self.base, key, "GET", "/api/v1/content", timeout=5)
                if status == 200 and body["ok"]:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the server did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """A graceful stop (SIGTERM to the master); whatever of its process group is left after
        15 s is killed."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)      # workers that outlived the master
        except ProcessLookupError:
            pass
        self.process.wait(10)


def request(base: str, key: str, method: str, path: str, body: Any = None,
            timeout: float = 120) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json",
                                          "Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode(errors="replace")


@pytest.fixture
def serve(tmp_path, request):
    started: list[Server] = []

    def start(database_url: str, content: Path, workers: int, threads: int,
              watch: float = 0) -> tuple[Server, str]:
        key = new_key(database_url)
        server = Server(database_url, content, workers, threads,
                        tmp_path / f"server-{len(started)}.log", watch)
        started.append(server)
        server.wait_ready(key)
        return server, key

    yield start
    for server in started:
        server.stop()


def report(figures: dict) -> None:
    """Print the run's figures (shown with -s) and append them to $CONFIGURATOR_LOAD_REPORT."""
    line = json.dumps(figures, sort_keys=True)
    print(line)
    if os.environ.get("CONFIGURATOR_LOAD_REPORT"):
        with open(os.environ["CONFIGURATOR_LOAD_REPORT"], "a") as out:
            out.write(line + "\n")


class Load:
    """Mixed requests from a thread pool: new configurations (POST /configurations) and new
    revisions of a few shared configurations (POST .../revisions, which queue on the database's
    write lock). Each outcome is (case index, status, body)."""

    def __init__(self, server: Server, key: str, work: list[tuple[dict, list]], token: str):
        self.server, self.key, self.work, self.token = server, key, work, token
        self.shared: list[int] = []

    def create(self, index: int) -> tuple[int, int, Any]:
        profile, adjustments = self.work[index]
        status, body = request(self.server.base, self.key, "POST", "/api/v1/configurations",
                               {"profile": {**profile, "name": f"{self.token} {profile['name']}"},
                                "adjustments": adjustments})
        return index, status, body

    def revise(self, index: int) -> tuple[int, int, Any]:
        profile, adjustments = self.work[index]
        configuration = self.shared[index % len(self.shared)]
        status, body = request(self.server.base, self.key, "POST",
                               f"/api/v1/configurations/{configuration}/revisions",
                               {"profile": {**profile, "name": f"{self.token} {profile['name']}"},
                                "adjustments": adjustments})
        return index, status, body

    def prepare(self, count: int = 4) -> None:
        for i in range(count):
            _, status, body = self.create(i)
            assert status == 201, body
            self.shared.append(body["id"])

    def one(self, n: int) -> tuple[int, int, Any]:
        index = n % len(self.work)
        return self.revise(index) if n % 4 == 3 else self.create(index)


def check(outcomes: list[tuple[int, int, Any]], expected: dict[str, list[dict]],
          token: str) -> dict[str, int]:
    """Every outcome is a 201 whose document equals the in-process document of the version it
    names; returns the number of responses per version."""
    failed = [(status, body) for _, status, body in outcomes if status != 201]
    assert not failed, f"{len(failed)} of {len(outcomes)} failed; first: {failed[0]}"
    seen: dict[str, int] = {}
    mismatches = []
    for index, _, body in outcomes:
        document = body["document"]
        version = document["content_version"]
        seen[version] = seen.get(version, 0) + 1
        assert body["content_version"] == version          # stored with the version it ran on
        want = expected.get(version)
        if want is None or document != want[index]:
            mismatches.append((index, version))
        assert body["profile"]["name"].startswith(token)
    assert not mismatches, f"{len(mismatches)} of {len(outcomes)} mismatches: {mismatches[:5]}"
    return seen


def named(work: list[tuple[dict, list]], token: str) -> list[tuple[dict, list]]:
    return [({**p, "name": f"{token} {p['name']}"}, a) for p, a in work]


def runs(*combinations: tuple[str, int, int]) -> Any:
    """Parametrize (database_url, workers, threads) with the backends and worker kinds given:
    each kind of worker meets each database in one of the two server tests, which keeps the file
    to four server runs."""
    params = []
    for backend, workers, threads in combinations:
        kind = f"{'sync' if threads == 1 else 'gthread'}-{workers}x{threads}"
        marks = [pytest.mark.postgres] if backend == "postgresql" else []
        params.append(pytest.param(backend, workers, threads, id=f"{backend}-{kind}",
                                   marks=marks))
    return pytest.mark.parametrize("database_url,workers,threads", params,
                                   indirect=["database_url"])


@pytest.mark.slow
@runs(("sqlite", 3, 1), ("postgresql", 2, 4))
def test_gunicorn_workers_under_load_give_the_single_request_documents(
        serve, database_url, content, example_profiles, workers, threads):
    server, key = serve(database_url, REPO, workers, threads)
    token = unique("Load")
    work = cases(example_profiles, 48)
    expected = {content.pipeline.pack.version: expected_documents(content, named(work, token))}
    load = Load(server, key, work, token)
    load.prepare()
    total = 240
    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(load.one, range(total)))
    elapsed = time.monotonic() - started
    seen = check(outcomes, expected, token)
    assert sum(seen.values()) == total
    backend = database_url.split(":")[0]
    report({"run": "load", "database": backend, "workers": workers, "threads": threads,
            "clients": 16, "requests": total, "versions": len(seen), "mismatches": 0,
            "errors": 0, "seconds": round(elapsed, 2),
            "requests_per_second": round(total / elapsed, 1)})
    # what was stored is what was answered
    for index, _, body in outcomes[:8]:
        path = (f"/api/v1/configurations/{body['configuration_id']}/revisions/{body['number']}"
                if "number" in body else f"/api/v1/configurations/{body['id']}")
        status, stored = request(server.base, key, "GET", path)
        assert status == 200 and stored["document"] == body["document"]


@pytest.mark.slow
@runs(("sqlite", 2, 4), ("postgresql", 3, 1))
def test_a_reload_mid_load_serves_each_request_wholly_from_one_version(
        serve, database_url, tmp_path, example_profiles, workers, threads):
    root = copy_pack(tmp_path / "served")
    root_b = copy_pack(tmp_path / "b")
    set_price(root_b, PRICE_A, PRICE_B)
    token = unique("Reload")
    work = cases(example_profiles, 32)
    expected = {}
    for source in (root, root_b):
        reference = loaded(source)
        expected[reference.pipeline.pack.version] = expected_documents(reference,
                                                                       named(work, token))
    version_a, version_b = expected
    server, key = serve(database_url, root, workers, threads, watch=0.2)
    load = Load(server, key, work, token)
    load.prepare()

    stop = threading.Event()
    outcomes: list[tuple[int, int, Any]] = []
    # Requests sent once every worker had refused the broken edit. A request keeps the version it
    # started on; one sent earlier may still answer on version A after the refusal, having waited
    # for SQLite's write lock (whose waiters are not served in order) for seconds.
    refused = threading.Event()
    after_refusal: list[tuple[int, int, Any]] = []
    counter = itertools.count()

    def client() -> None:
        while not stop.is_set():
            sent_after_refusal = refused.is_set()
            outcome = load.one(next(counter))
            outcomes.append(outcome)
            if sent_after_refusal:
                after_refusal.append(outcome)

    def wait_until(condition, what: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
            time.sleep(0.05)

    def latest(count: int, version: str) -> bool:
        recent = [body for _, status, body in outcomes[-count:] if status == 201]
        return len(recent) == count and all(b["content_version"] == version for b in recent)

    clients = [threading.Thread(target=client, daemon=True) for _ in range(8)]
    started = time.monotonic()
    for thread in clients:
        thread.start()
    try:
        wait_until(lambda: len(outcomes) >= 60, "60 responses on version A")
        set_price(root, PRICE_A, PRICE_B)                             # the edit, mid-load
        edited_at = len(outcomes)
        wait_until(lambda: latest(40, version_b), "every worker serving version B")
        switched_at = len(outcomes)
        (root / "rules" / "broken-mid-load.yaml").write_text(BROKEN_RULE)    # a broken edit
        broken_at = len(outcomes)
        # each worker logs the refusal once (its pid is not in the line, so count them)
        wait_until(lambda: server.log.read_text().count(
            "content not loaded: rules/broken-mid-load.yaml") >= workers,
            "every worker refusing the broken pack")
        refused.set()
        wait_until(lambda: len(after_refusal) >= 60, "60 responses to requests sent after it")
    finally:
        stop.set()
        for thread in clients:
            thread.join(150)
    elapsed = time.monotonic() - started
    seen = check(outcomes, expected, token)
    assert set(seen) == {version_a, version_b}
    assert [body["content_version"] for _, _, body in after_refusal] == \
        [version_b] * len(after_refusal)
    status, content_status = request(server.base, key, "GET", "/api/v1/content")
    assert status == 200 and not content_status["ok"]
    assert content_status["version"] == version_b
    assert content_status["problems"][0]["file"] == "rules/broken-mid-load.yaml"
    backend = database_url.split(":")[0]
    report({"run": "reload", "database": backend, "workers": workers, "threads": threads,
            "clients": 8, "requests": len(outcomes), "versions": len(seen),
            "per_version": {("A" if v == version_a else "B"): n for v, n in seen.items()},
            "mixed_window": switched_at - edited_at, "after_broken_edit": len(outcomes) - broken_at,
            "mismatches": 0, "errors": 0, "seconds": round(elapsed, 2),
            "requests_per_second": round(len(outcomes) / elapsed, 1)})
