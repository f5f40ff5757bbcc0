"""Run every benchmark, print the table and regenerate docs/performance.md.

    bin/bench            # the whole run, about 5 minutes on the 2-core machine
    bin/bench --quick    # shorter runs and 20,000 instead of 100,000 configurations (about 2.5 minutes; longer on a busy machine)

Steps: generate the synthetic packs (bench/generate.py) and `configurator check` them; content
load and compile time; in-process latency and throughput of the demo pack and of packs of 100,
1,000 and 10,000 rules, each with durable-rules and with the plain-Python reference engine (the
baseline); where a demo configuration's time goes; memory over 100,000 configurations; HTTP
throughput and latency under wrk (bench/serving.py); whether compiled rulesets are built per
request; PDF rendering (bench/proposals.py, issue 3's script). Every measurement runs in its own
process. The machine is shared: figures of one run are compared with each other, never with
another run's.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
DOC = REPO / "docs" / "performance.md"
PACKS = {100: 100, 1000: 500, 10000: 5000}     # rules -> catalog modules


def _child(*args: str, timeout: float = 1800) -> dict:
    out = subprocess.run([sys.executable, str(BENCH / "inprocess.py"), *args], cwd=REPO,
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode:
        raise RuntimeError(f"bench/inprocess.py {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> dict:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    import durable_rules_engine  # noqa: F401
    from importlib.metadata import version
    return {"nproc": os.cpu_count(), "cpu": model, "memory_gb": round(mem / 2**20, 1),
            "python": platform.python_version(), "load": os.getloadavg(),
            "durable": version("durable-rules"), "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "os": platform.platform()}


def generate(workdir: Path) -> dict[int, dict]:
    from bench.generate import generate as make
    packs = {}
    for rules, modules in PACKS.items():
        root = make(workdir / f"pack-{rules}", rules=rules, modules=modules, profiles=40, seed=1)
        started = time.perf_counter()
        check = subprocess.run([sys.executable, "-m", "configurator.cli", "--content", str(root),
                                "check"], cwd=REPO, capture_output=True, text=True, timeout=900)
        summary = (check.stdout.strip().splitlines() or ["(no output)"])[-1]
        packs[rules] = {"root": str(root), "modules": modules, "check_ok": check.returncode == 0,
                        "check": summary, "check_s": time.perf_counter() - started}
        print(f"  pack of {rules:,} rules, {modules:,} modules: check "
              f"{'passed' if check.returncode == 0 else 'FAILED'} ({summary[:90]})", flush=True)
        if check.returncode:
            print(check.stdout[-3000:], check.stderr[-3000:], file=sys.stderr)
    return packs


def pdf(quick: bool) -> dict | None:
    script = BENCH / "proposals.py"
    if not script.exists():
        return None
    found = {}
    for case, repeat in (("typical-en", 2 if quick else 3), ("kestrel-en", 1), ("large-en", 1)):
        out = subprocess.run([sys.executable, str(script), "--child", case, "--repeat", str(repeat)],
                             cwd=REPO, capture_output=True, text=True, timeout=900)
        if out.returncode:
            return {"error": (out.stderr or out.stdout).strip().splitlines()[-1:]}
        found[case] = json.loads(out.stdout.strip().splitlines()[-1])
    found["stored"] = stored_proposal()
    return found


def stored_proposal() -> dict:
    """A revision's proposal is rendered once, then served from the store: ask for it twice
    through the API and count the renders."""
    out = subprocess.run([sys.executable, "-c", STORED], cwd=REPO, capture_output=True, text=True,
                         timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)})
    if out.returncode:
        return {"error": (out.stderr or out.stdout).strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


STORED = r"""
import json, tempfile, time
import configurator.proposals as proposals
import configurator.services.proposals as stored
from configurator.app import create_app
from configurator.services.content import Content
from configurator.store import migrate
renders = []
original = stored.render_proposal
def counting(*args, **kwargs):
    renders.append(1)
    return original(*args, **kwargs)
stored.render_proposal = counting
content = Content(None, trial=False); content.load()
with tempfile.TemporaryDirectory() as tmp:
    url = f"sqlite:///{tmp}/p.db"
    migrate.upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "CONTENT_TRIAL": False,
                      "CONTENT_WATCH_SECONDS": 0}, content=content)
    client = app.test_client()
    try:   # every API call but /health needs a key
        from configurator.accounts import apikeys
        with app.extensions["configurator.db"].sessions() as session:
            _, key = apikeys.create(session, "bench", ["configure", "proposals"],
                                    rate_limit="100000000/minute")
            session.commit()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    except ImportError:
        pass
    test = content.pack.tests[0]
    made = client.post("/api/v1/configurations", json={"profile": test.profile}).get_json()
    path = f"/api/v1/configurations/{made['id']}/revisions/1/proposals"
    times, ids = [], []
    for _ in range(2):
        t0 = time.perf_counter()
        answer = client.post(path, json={})
        times.append(time.perf_counter() - t0)
        ids.append((answer.status_code, (answer.get_json() or {}).get("id")))
    app.extensions["configurator.db"].dispose()
print(json.dumps({"renders": len(renders), "answers": ids, "first_s": times[0], "second_s": times[1]}))
"""


def run(quick: bool, skip_http: bool, skip_pdf: bool) -> dict:
    import tempfile
    sys.path.insert(0, str(REPO))
    results: dict = {"machine": machine(), "quick": quick}
    seconds = 4 if quick else 10
    print(f"machine: {results['machine']['nproc']} cores, {results['machine']['cpu']}, "
          f"load {results['machine']['load'][0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-packs-") as tmp:
        print("generating and checking the synthetic packs", flush=True)
        packs = generate(Path(tmp))
        results["packs"] = {str(k): {kk: vv for kk, vv in v.items() if kk != "root"}
                            for k, v in packs.items()}
        roots = {"demo": str(REPO), **{str(k): v["root"] for k, v in packs.items()}}

        print("content load and compile (cold, each in a new process)", flush=True)
        results["load"] = {name: _child("load", root) for name, root in roots.items()}
        results["yaml"] = _child("yaml", roots["1000"])

        print("in-process latency: durable-rules and the reference engine", flush=True)
        results["noise"] = _child("noise", str(seconds / 2), "2")
        results["latency"] = {}
        for name, root in roots.items():
            for engine in ("durable", "reference"):
                limit = {"demo": 100000, "100": 100000, "1000": 20000, "10000": 2000}[name]
                r = _child("latency", root, engine, str(seconds), str(limit))
                results["latency"][f"{name}/{engine}"] = r
                print(f"  {name:>6} {engine:9s} median {r['median_ms']:7.2f} ms  p99 "
                      f"{r['p99_ms']:7.2f} ms  CPU p99 {r['cpu_p99_ms']:7.2f} ms  "
                      f"{r['per_s']:7.0f}/s  ({r['fired']:.0f} rules fire)", flush=True)

        print("where the demo pack's time goes", flush=True)
        results["breakdown"] = _child("breakdown", str(REPO), "1000" if quick else "3000")

        total = 20000 if quick else 100000
        print(f"memory over {total:,} configurations (demo pack)", flush=True)
        results["memory"] = _child("memory", str(REPO), str(total), str(total // 10), timeout=3600)

    print("compiled rulesets per request", flush=True)
    out = subprocess.run([sys.executable, str(BENCH / "serving.py"), "cache"], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    results["cache"] = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 \
        else {"error": out.stderr[-500:]}

    if not skip_http:
        print("HTTP (wrk on 127.0.0.1)", flush=True)
        sys.path.insert(0, str(BENCH))
        from serving import SETTINGS, measure
        results["http"] = measure(list(SETTINGS), 5 if quick else 10, [16, 64])
    if not skip_pdf:
        print("PDF (bench/proposals.py)", flush=True)
        results["pdf"] = pdf(quick)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (about 2.5 minutes)")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP benchmark")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF benchmark")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite docs/performance.md")
    parser.add_argument("--from-json", type=Path, help="write the doc from a saved results file")
    parser.add_argument("--json", type=Path, help="also save the raw results here")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from bench.report import render
    started = time.perf_counter()
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        results = run(args.quick, args.no_http, args.no_pdf)
        results["seconds"] = time.perf_counter() - started
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    text = render(results)
    print()
    print(text.split("<!-- table -->")[1].split("<!-- /table -->")[0].strip())
    if not args.no_write:
        DOC.write_text(text.replace("<!-- table -->\n", "").replace("<!-- /table -->\n", ""),
                       encoding="utf-8")
        print(f"\nwrote {DOC.relative_to(REPO)} ({results.get('seconds', 0) / 60:.1f} minutes)")


if __name__ == "__main__":
    main()
