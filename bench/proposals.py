"""Benchmark of PDF proposal rendering: time and peak memory, each case in a fresh process.

    .venv/bin/python bench/proposals.py            # measure, print, and update docs/proposals.md
    .venv/bin/python bench/proposals.py --no-write # measure and print only
    .venv/bin/python bench/proposals.py --png      # re-render docs/proposals/*.png (pdftoppm)

Cases: a typical demo proposal (the Kestrel Network Systems key account, English and Chinese)
and a proposal of about 40 pages (the same revision with every line repeated). Each case runs
in its own subprocess, so the peak resident memory (`ru_maxrss`, which also sees WeasyPrint's
C libraries, unlike tracemalloc) is that case's alone: the process loads the pack, renders once
cold (imports, fonts), then renders `--repeat` times warm. Timings are wall-clock on a shared
machine: compare figures from one run only. Tests never assert on them.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "proposals.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
EXAMPLE = REPO / "examples" / "kestrel-network-systems-ltd.yaml"
REVISION_TIME = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.timezone.utc)
CASES = {
    # the demo's typical customer: the rule-test customer with the median number of lines
    "typical-en": {"language": "en", "repeat_lines": 1, "customer": "median",
                   "label": "typical demo proposal, English ({name}, {lines} lines: the median of "
                            "the {count} example customers)"},
    "kestrel-en": {"language": "en", "repeat_lines": 1,
                   "label": "largest demo account, English (Kestrel, 21 lines)"},
    "typical-zh": {"language": "zh", "repeat_lines": 1,
                   "label": "largest demo account, Chinese (Kestrel, 21 lines)"},
    # about 40 pages with the denser template (7x made 44 pages before it, 30 after)
    "large-en": {"language": "en", "repeat_lines": 10,
                 "label": "large proposal, English (Kestrel's lines repeated 10x: 210 lines)"},
}


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(case: str, repeat: int) -> dict:
    """Run in a fresh process: load the pack, render cold once, then `repeat` times warm."""
    sys.path.insert(0, str(REPO))
    from configurator.content.pack import load_pack
    from configurator.content.yamlfile import plain, read_yaml
    from configurator.engine.pipeline import Pipeline
    from configurator.proposals import ProposalInput

    spec = dict(CASES[case])
    pack = load_pack(REPO)
    pipeline = Pipeline(pack)
    if spec.get("customer") == "median":
        profile, document = typical(pipeline)
        spec["label"] = spec["label"].format(name=profile["name"], lines=len(document["lines"]),
                                             count=len(pack.tests))
    else:
        profile = plain(read_yaml(EXAMPLE))
        document = pipeline.configure(pack.profile.validate(profile))
    if spec["repeat_lines"] > 1:
        lines = []
        for copy in range(spec["repeat_lines"]):
            for line in document["lines"]:
                suffix = f" (phase {copy + 1})"
                lines.append({**line, "name": line["name"] + suffix,
                              "reasons": [{**r, "text": r["text"] + suffix} for r in line["reasons"]]})
        document = {**document, "lines": lines}
    source = ProposalInput(customer=profile["name"], configuration_id=12, revision=3,
                           created_at=REVISION_TIME, profile=profile, adjustments=[],
                           document=document)
    before = _maxrss_mb()
    from configurator.services.rendering import render_proposal as render  # WeasyPrint: first render
    started = time.perf_counter()
    rendered = render(pipeline, source, "standard", spec["language"])
    cold = time.perf_counter() - started
    warm, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        rendered = render(pipeline, source, "standard", spec["language"])
        warm.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return {"case": case, "label": spec["label"], "pages": rendered.pages,
            "bytes": len(rendered.pdf), "cold_s": round(cold, 2),
            "warm_median_s": round(statistics.median(warm), 2),
            "warm_min_s": round(min(warm), 2), "runs": repeat,
            "cpu_median_s": round(statistics.median(cpu), 2),
            "pages_per_s": round(rendered.pages / statistics.median(warm), 1),
            "rss_before_mb": round(before), "peak_rss_mb": round(_maxrss_mb())}


def typical(pipeline) -> tuple[dict, dict]:
    """The demo's typical customer: of the pack's example customers (its rule tests), the one
    whose configuration has the median number of lines (the lower one of an even count)."""
    pack = pipeline.pack
    configured = []
    for test in pack.tests:
        document = pipeline.configure(pack.profile.validate(test.profile))
        configured.append((len(document["lines"]), test.profile["name"], test.profile, document))
    configured.sort(key=lambda item: item[:2])
    _, _, profile, document = configured[(len(configured) - 1) // 2]
    return profile, document


def measure(cases: list[str], repeat: int) -> list[dict]:
    results = []
    for case in cases:
        out = subprocess.run([sys.executable, __file__, "--child", case, "--repeat", str(repeat)],
                             capture_output=True, text=True, check=True, cwd=REPO)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"{results[-1]['label']}: {results[-1]['pages']} pages, "
              f"warm {results[-1]['warm_median_s']} s (min {results[-1]['warm_min_s']} s, "
              f"CPU {results[-1]['cpu_median_s']} s), "
              f"cold {results[-1]['cold_s']} s, peak {results[-1]['peak_rss_mb']} MB", flush=True)
    return results


def table(results: list[dict]) -> str:
    load = os.getloadavg()[0]
    rows = [f"Measured {dt.date.today():%Y-%m-%d} with `bench/proposals.py` on this {os.cpu_count()}-core "
            f"machine (load average {load:.1f} at the start; the machine is shared, so compare "
            "figures of one run only). Warm: the median wall-clock time of the repeated renders in "
            "one process, and the CPU time they used (less sensitive to other tenants); cold: the "
            "first render in a new process (imports, fonts). Peak memory: the process's "
            "`ru_maxrss`, which includes the loaded pack and rules engine (`before`).",
            "",
            "| case | pages | PDF size | warm render | CPU | pages/s | cold render | peak memory (before rendering) |",
            "|---|---|---|---|---|---|---|---|"]
    for r in results:
        rows.append(f"| {r['label']} | {r['pages']} | {r['bytes'] // 1024} KB | "
                    f"{r['warm_median_s']} s (min {r['warm_min_s']} s, {r['runs']} runs) | "
                    f"{r['cpu_median_s']} s | {r['pages_per_s']} | {r['cold_s']} s | {r['peak_rss_mb']} MB "
                    f"({r['rss_before_mb']} MB) |")
    return "\n".join(rows)


def write_doc(results: list[dict]) -> None:
    text = DOC.read_text(encoding="utf-8")
    block = f"{START}\n{table(results)}\n{END}"
    text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    DOC.write_text(text, encoding="utf-8")
    print(f"updated {DOC.relative_to(REPO)}")


def pngs() -> None:
    """docs/proposals/<lang>-NN.png: every page of the demo proposal, at 60 dpi."""
    target = REPO / "docs" / "proposals"
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.png"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        for language in ("en", "zh"):
            pdf = Path(tmp) / f"{language}.pdf"
            subprocess.run([sys.executable, "-m", "configurator.cli", "configure", str(EXAMPLE),
                            "--pdf", str(pdf), "--language", language], check=True, cwd=REPO,
                           stdout=subprocess.DEVNULL)
            subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(target / language)],
                           check=True)
    print("\n".join(sorted(p.name for p in target.glob("*.png"))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=5, help="warm renders per case")
    parser.add_argument("--case", action="append", choices=sorted(CASES),
                        help="run only this case (repeatable)")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/proposals.md")
    parser.add_argument("--png", action="store_true", help="re-render docs/proposals/*.png")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.repeat)))
        return
    if args.png:
        pngs()
        return
    results = measure(args.case or list(CASES), args.repeat)
    if not args.no_write:
        write_doc(results)


if __name__ == "__main__":
    main()
