"""HTTP benchmark: `configurator serve` on 127.0.0.1 under wrk.

For each server setting (gunicorn sync workers, gunicorn gthread workers) a fresh server with a
fresh SQLite database serves the demo pack; wrk then drives, at concurrency 16 and 64:
- `GET /api/v1/health` (database ping and content status): the trivial endpoint, the ceiling;
- `POST /api/v1/configurations` with the demo's example customers in turn: validate, configure,
  save (customer, configuration, revision), answer 201 with the document.
Both run against the same server in the same run, so their ratio is meaningful on a shared
machine even when the absolute figures are not.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SETTINGS = {
    "sync": {"label": "gunicorn sync, 2 workers", "args": ["--workers", "2", "--threads", "1"]},
    "gthread": {"label": "gunicorn gthread, 2 workers x 4 threads",
                "args": ["--workers", "2", "--threads", "4"]},
}

LUA = """
local bodies = {}
local headers = {["Content-Type"] = "application/json"}
local i = 0
init = function(args)
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do bodies[#bodies + 1] = line end
  f:close()
  if args[2] then headers["Authorization"] = "Bearer " .. args[2] end
end
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/api/v1/configurations", headers, bodies[i])
end
"""


def _api_key(env: dict) -> str | None:
    """A `configure` key for the benchmark (every API call but /health needs one), made with
    the CLI in the server's database, with a rate limit no benchmark reaches."""
    done = subprocess.run([sys.executable, "-m", "configurator.cli", "apikey", "create",
                           "--name", "bench", "--scope", "configure",
                           "--rate-limit", "100000000/minute"],
                          cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        if "No such command" in done.stderr:     # a version without API keys
            return None
        raise RuntimeError(f"configurator apikey create failed: {done.stderr.strip()[-500:]}")
    return done.stdout.strip().splitlines()[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bodies(path: Path) -> None:
    """One JSON request body a line: the demo's example customers, each under a few names."""
    from configurator.content.pack import load_pack
    pack = load_pack(REPO)
    lines = []
    for n in range(4):
        for test in pack.tests:
            profile = dict(test.profile, name=f"{test.profile['name']} {n}")
            lines.append(json.dumps({"profile": profile, "adjustments": list(test.adjustments)}))
    path.write_text("\n".join(lines) + "\n")


def _wait(url: str, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the server did not answer {url} within {timeout} s")


def _wrk(url: str, connections: int, seconds: int, script: Path | None, bodies: Path | None,
         key: str | None = None) -> dict:
    cmd = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency",
           "--timeout", "10s"]
    if script:
        cmd += ["-s", str(script)]
    cmd.append(url)
    if bodies:
        cmd += ["--", str(bodies)] + ([key] if key else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1))
    p50 = _ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + \
        (sum(int(g) for g in socket_errors.groups()) if socket_errors else 0)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "requests": total, "errors": errors}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def measure(settings: list[str], seconds: int, concurrencies: list[int]) -> list[dict]:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (bin/bench installs it: apt-get install wrk)")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        bodies, script = Path(tmp) / "bodies.jsonl", Path(tmp) / "post.lua"
        _bodies(bodies)
        script.write_text(LUA)
        for name in settings:
            port = _free_port()
            env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/{name}.db",
                   "CONFIGURATOR_CONTENT_WATCH": "0", "PYTHONPATH": str(REPO)}
            log = open(Path(tmp) / f"{name}.log", "w")
            server = subprocess.Popen([sys.executable, "-m", "configurator.cli", "serve",
                                       "--port", str(port), *SETTINGS[name]["args"]],
                                      cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
            base = f"http://127.0.0.1:{port}"
            try:
                _wait(base + "/api/v1/health")          # the server has migrated the database
                key = _api_key(env)
                _wrk(base + "/api/v1/health", 4, 2, None, None)                    # warm up
                warm = _wrk(base + "/api/v1/configurations", 4, 2, script, bodies, key)
                if warm["requests"] and warm["errors"] == warm["requests"]:
                    raise RuntimeError("every configure request failed (API key?); see the "
                                       f"server log {Path(tmp) / (name + '.log')}")
                for connections in concurrencies:
                    trivial = _wrk(base + "/api/v1/health", connections, seconds, None, None)
                    configure = _wrk(base + "/api/v1/configurations", connections, seconds,
                                     script, bodies, key)
                    row = {"setting": name, "label": SETTINGS[name]["label"],
                           "connections": connections, "trivial": trivial, "configure": configure,
                           "ratio": configure["rps"] / trivial["rps"] if trivial["rps"] else 0}
                    results.append(row)
                    print(f"  {row['label']}, c{connections}: health {trivial['rps']:.0f}/s "
                          f"(p99 {trivial['p99_ms']:.1f} ms), configure {configure['rps']:.0f}/s "
                          f"(p99 {configure['p99_ms']:.1f} ms, {configure['errors']} errors)",
                          flush=True)
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
                log.close()
    return results


def cached_rulesets() -> dict:
    """Compiled rulesets are built once per content version, never per request: count the
    rulesets registered with durable-rules while the API configures and saves 200 times."""
    from configurator.app import create_app
    from configurator.engine import durable_adapter
    from configurator.services.content import Content

    registered = []
    original = durable_adapter.DurableEngine.register

    def counting(self, *args, **kwargs):
        registered.append(args[0])
        return original(self, *args, **kwargs)

    durable_adapter.DurableEngine.register = counting
    try:
        with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
            content = Content(REPO, trial=False)
            content.load()
            at_load = len(registered)
            app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/c.db", "SECRET_KEY": "bench",
                              "CONTENT_TRIAL": False, "CONTENT_WATCH_SECONDS": 0}, content=content)
            from configurator.store import migrate
            migrate.upgrade(app.config["DATABASE_URL"])
            client = app.test_client()
            try:
                from configurator.accounts import apikeys
                with app.extensions["configurator.db"].sessions() as session:
                    _, key = apikeys.create(session, "bench", ["configure"],
                                            rate_limit="100000000/minute")
                    session.commit()
                client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
            except ImportError:          # a version without API keys
                pass
            statuses = []
            for i in range(200):
                test = content.pack.tests[i % len(content.pack.tests)]
                answer = client.post("/api/v1/configurations",
                                     json={"profile": test.profile, "adjustments": list(test.adjustments)})
                statuses.append(answer.status_code)
            app.extensions["configurator.db"].dispose()
    finally:
        durable_adapter.DurableEngine.register = original
    return {"at_load": at_load, "during_requests": len(registered) - at_load,
            "requests": len(statuses), "created": statuses.count(201)}


if __name__ == "__main__":
    if sys.argv[1:2] == ["cache"]:
        print(json.dumps(cached_rulesets()))
    else:
        print(json.dumps(measure(list(SETTINGS), int(sys.argv[1]) if len(sys.argv) > 1 else 10, [16, 64])))
