"""Sign-in under attack: what failed sign-ins cost the API, with and without the throttle.

`python bench/signin.py [SECONDS]` starts `configurator serve` (gunicorn, 2 sync workers, a fresh
SQLite database) twice: with the sign-in throttle off (CONFIGURATOR_SIGN_IN_*_FAILURES=0, as the
service was before it) and with its defaults. Each time it measures, one request at a time:
- the API's latency (`GET /api/v1/configurations?page_size=1` with a key), idle;
- the cost of one sign-in request: the page (`GET /sign-in`), a failed attempt (one scrypt hash),
  and an attempt refused by a lock (no hash; only with the throttle on);
- the API's latency again while 8 anonymous clients load the sign-in page as fast as they are
  answered (the cost of any cheap page), and while they post wrong passwords to /sign-in, each for
  a new e-mail address (all from 127.0.0.1, one address), and how those posts were answered.
It prints a table (median and 90th percentile in ms) and, with --json FILE, writes the figures.
Figures from a shared machine: compare the rows of one run, not runs with each other.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.serving import _api_key, _free_port, _wait  # noqa: E402 - after the path is set

EMAIL, PASSWORD = "bench.lead@example.com", "bench-password-1"
ATTACKERS = 8
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """One HTTP connection with a cookie, for the sign-in form."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""

    def request(self, method: str, path: str, body: dict | None = None,
                headers: dict | None = None) -> tuple[int, str]:
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=data, headers=headers)
        answer = self.connection.getresponse()
        text = answer.read().decode()
        cookie = answer.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return answer.status, text

    def token(self) -> str:
        return TOKEN.search(self.request("GET", "/sign-in")[1]).group(1)

    def sign_in(self, token: str, password: str) -> int:
        return self.request("POST", "/sign-in", {"csrf_token": token, "email": EMAIL,
                                                 "password": password})[0]


def _timed(call, seconds: float, least: int = 20) -> list[float]:
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < least:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1e3)
    return times


def _figures(times: list[float]) -> dict:
    ordered = sorted(times)
    return {"median_ms": round(statistics.median(ordered), 1),
            "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 1), "n": len(ordered)}


def _under_load(port: int, call, seconds: float, password: str | None) -> tuple[dict, dict]:
    """`call`'s latency while ATTACKERS clients load the sign-in page (`password` None), or
    post `password` for e-mail addresses of their own, a new one each time (spraying: no
    account lock helps, only the address's), as fast as they are answered."""
    answers: dict[str, int] = {}
    stop = threading.Event()

    def load(n: int) -> None:
        browser = Browser(port)
        own = browser.token()
        sent = 0
        while not stop.is_set():
            if password is None:
                status = browser.request("GET", "/sign-in")[0]
            else:
                sent += 1
                status = browser.request("POST", "/sign-in", {
                    "csrf_token": own, "email": f"guess-{n}-{sent}@example.com",
                    "password": password})[0]
            answers[str(status)] = answers.get(str(status), 0) + 1

    threads = [threading.Thread(target=load, args=(n,)) for n in range(ATTACKERS)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    figures = _figures(_timed(call, seconds))
    stop.set()
    for thread in threads:
        thread.join()
    return figures, dict(sorted(answers.items()))


def measure(throttle: bool, seconds: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-signin-") as tmp:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/signin.db",
               "CONFIGURATOR_CONTENT_WATCH": "0", "PYTHONPATH": str(REPO)}
        if not throttle:
            env.update(CONFIGURATOR_SIGN_IN_ACCOUNT_FAILURES="0",
                       CONFIGURATOR_SIGN_IN_ADDRESS_FAILURES="0")
        port = _free_port()
        log = open(Path(tmp) / "server.log", "w")
        server = subprocess.Popen([sys.executable, "-m", "configurator.cli", "serve", "--port",
                                   str(port), "--workers", "2"], cwd=REPO, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait(f"http://127.0.0.1:{port}/api/v1/health")
            subprocess.run([sys.executable, "-m", "configurator.cli", "user", "create", EMAIL,
                            "--name", "Bench Lead", "--role", "solution-lead",
                            "--password-stdin"], input=PASSWORD + "\n", text=True, cwd=REPO,
                           env=env, check=True, capture_output=True)
            key = _api_key(env)
            api = Browser(port)

            def api_call() -> None:
                status, _ = api.request("GET", "/api/v1/configurations?page_size=1",
                                        headers={"Authorization": f"Bearer {key}"})
                assert status == 200, status

            _timed(api_call, 1)                                     # warm up both workers
            result: dict = {"throttle": throttle, "api_idle": _figures(_timed(api_call, seconds))}
            page = Browser(port)
            result["sign_in_page"] = _figures(_timed(lambda: page.request("GET", "/sign-in"), 2))
            guesser = Browser(port)
            token = guesser.token()
            failed = []
            for _ in range(5 if throttle else 20):   # the throttle locks this account at 5
                started = time.perf_counter()
                guesser.sign_in(token, "wrong-password")
                failed.append((time.perf_counter() - started) * 1e3)
            result["failed_attempt"] = _figures(failed)
            if throttle:
                def refused_call() -> None:
                    assert guesser.sign_in(token, PASSWORD) == 429
                result["refused_attempt"] = _figures(_timed(refused_call, 2))

            result["api_while_pages_load"], _ = _under_load(port, api_call, seconds, None)
            result["api_under_attack"], result["attack_answers"] = _under_load(
                port, api_call, seconds, "wrong-password")
            return result
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
            log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seconds", nargs="?", type=float, default=5.0,
                        help="how long each latency is measured")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    results = [measure(False, args.seconds), measure(True, args.seconds)]
    rows = [("API, idle", "api_idle"), ("GET /sign-in", "sign_in_page"),
            ("failed sign-in (scrypt)", "failed_attempt"),
            ("refused sign-in (locked)", "refused_attempt"),
            (f"API, {ATTACKERS} clients loading the sign-in page", "api_while_pages_load"),
            (f"API, {ATTACKERS} clients posting wrong passwords", "api_under_attack")]
    print(f"{'ms: median / p90':52} {'throttle off':>16} {'throttle on':>16}")
    for label, name in rows:
        cells = []
        for result in results:
            figures = result.get(name)
            cells.append(f"{figures['median_ms']} / {figures['p90_ms']}" if figures else "-")
        print(f"{label:52} {cells[0]:>16} {cells[1]:>16}")
    for result in results:
        print(f"the attackers' answers, throttle {'on' if result['throttle'] else 'off'}: "
              f"{result['attack_answers']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
