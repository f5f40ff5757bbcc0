"""In-process benchmarks: configuration latency and throughput (durable-rules and the plain-Python
reference engine), where the time goes, content load and compile time, memory over many
configurations. Each measurement runs in a fresh child process (`python bench/inprocess.py
KIND ARGS...` prints one JSON line), so one does not warm up or fatten the next.
"""
from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _profiles(root: Path, pack) -> list:
    """The pack's example customers: rule-test profiles, plus profiles.json of a generated pack."""
    from configurator.content.yamlfile import plain, read_yaml

    found = [t.profile for t in pack.tests]
    extra = root / "profiles.json"
    if extra.exists():
        found += json.loads(extra.read_text())
    for path in sorted((root / "examples").glob("*.yaml")) if (root / "examples").is_dir() else []:
        found.append(plain(read_yaml(path)))
    return found


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def latency(root: str, engine: str, seconds: float, max_runs: int) -> dict:
    """Configure the pack's profiles round-robin through `services.configurations.configure`
    (validation, pipeline, document), for about `seconds`: wall and CPU time per configuration."""
    from configurator.content.pack import load_pack
    from configurator.engine.pipeline import Pipeline
    from configurator.engine.reference_engine import ReferenceEngine
    from configurator.services.configurations import configure

    pack = load_pack(root)
    pipeline = Pipeline(pack, engine=ReferenceEngine() if engine == "reference" else None)
    profiles = _profiles(Path(root), pack)
    fired = [len(pipeline.run(pack.profile.validate(p)).fired) for p in profiles]
    for profile in profiles:                       # warm up
        configure(pipeline, profile)
    gc.collect()
    walls, cpus = [], []
    deadline = time.perf_counter() + seconds
    i = 0
    started = time.perf_counter()
    while (time.perf_counter() < deadline or i < 20) and i < max_runs:
        profile = profiles[i % len(profiles)]
        w0, c0 = time.perf_counter(), time.thread_time()
        configure(pipeline, profile)
        cpus.append(time.thread_time() - c0)
        walls.append(time.perf_counter() - w0)
        i += 1
    elapsed = time.perf_counter() - started
    return {"runs": i, "profiles": len(profiles), "fired": statistics.mean(fired),
            "median_ms": statistics.median(walls) * 1e3, "p99_ms": _percentile(walls, 0.99) * 1e3,
            "cpu_median_ms": statistics.median(cpus) * 1e3,
            "cpu_p99_ms": _percentile(cpus, 0.99) * 1e3, "per_s": i / elapsed}


def noise(seconds: float, target_ms: float) -> dict:
    """A fixed pure-Python loop timed like a configuration: how much this machine's neighbours
    stretch a steady workload's tail (its p99 over its median)."""
    def work(n: int) -> int:
        x = 0
        for k in range(n):
            x += k * k
        return x

    n = 1000
    t0 = time.perf_counter()
    work(n)
    n = max(1000, int(n * (target_ms / 1e3) / max(time.perf_counter() - t0, 1e-6)))
    walls, cpus = [], []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(walls) < 20:
        w0, c0 = time.perf_counter(), time.thread_time()
        work(n)
        cpus.append(time.thread_time() - c0)
        walls.append(time.perf_counter() - w0)
    return {"median_ms": statistics.median(walls) * 1e3, "p99_ms": _percentile(walls, 0.99) * 1e3,
            "cpu_p99_ms": _percentile(cpus, 0.99) * 1e3, "runs": len(walls)}


def breakdown(root: str, runs: int) -> dict:
    """Where a configuration's time goes: inside durable-rules' C extension (every call into it
    timed), validation, and the rest of the pipeline (facts, actions, solution, pricing,
    document)."""
    import durable_rules_engine as engine_module

    inside = [0.0]
    for name in ("assert_fact", "assert_facts", "retract_fact", "start_action_for_state",
                 "complete_and_start_action", "delete_state", "abandon_action"):
        original = getattr(engine_module, name)

        def timed(*args, _original=original):
            t0 = time.perf_counter()
            try:
                return _original(*args)
            finally:
                inside[0] += time.perf_counter() - t0
        setattr(engine_module, name, timed)

    from configurator.content.pack import load_pack
    from configurator.content.adjustments import parse_adjustments
    from configurator.engine.pipeline import Evaluation, Pipeline

    # The pipeline's Python parts, each timed the same way (none of them calls another).
    parts = {"world": 0.0, "actions": 0.0, "solution": 0.0, "document": 0.0}
    for part, method in (("world", "world_for"), ("actions", "_apply"),
                         ("solution", "end_stage"), ("document", "document")):
        original = getattr(Evaluation, method)

        def timed_method(*args, _original=original, _part=part, **kwargs):
            t0 = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                parts[_part] += time.perf_counter() - t0
        setattr(Evaluation, method, timed_method)

    pack = load_pack(root)
    pipeline = Pipeline(pack)
    profiles = _profiles(Path(root), pack)
    for profile in profiles:
        pipeline.configure(pack.profile.validate(profile))
    validation = pipeline_time = 0.0
    inside[0] = 0.0
    parts.update(dict.fromkeys(parts, 0.0))
    for i in range(runs):
        profile = profiles[i % len(profiles)]
        t0 = time.perf_counter()
        clean = pack.profile.validate(profile)
        changes = parse_adjustments([], pack.catalog)
        t1 = time.perf_counter()
        pipeline.configure(clean, changes)
        t2 = time.perf_counter()
        validation += t1 - t0
        pipeline_time += t2 - t1
    durable = inside[0]
    engine_python = pipeline_time - durable
    return {"runs": runs, "durable_ms": durable / runs * 1e3,
            "validation_ms": validation / runs * 1e3,
            "pipeline_ms": engine_python / runs * 1e3,
            "parts_ms": {name: spent / runs * 1e3 for name, spent in parts.items()},
            "overhead_ms": (validation + engine_python) / runs * 1e3,
            "total_ms": (validation + pipeline_time) / runs * 1e3}


def load(root: str) -> dict:
    """Cold: read and check the pack (YAML, structure, types, lint), then compile it for
    durable-rules (the Pipeline), in a process that has imported the code but read nothing."""
    import configurator.content.pack  # noqa: F401  (imports are not the pack's load time)
    import configurator.engine.pipeline  # noqa: F401
    from configurator.content.pack import check_pack
    from configurator.engine.pipeline import Pipeline

    t0 = time.perf_counter()
    pack, problems = check_pack(root)
    t1 = time.perf_counter()
    assert pack is not None, [str(p) for p in problems if p.severity == "error"][:5]
    pipeline = Pipeline(pack)
    t2 = time.perf_counter()
    check_pack(root)                                   # again: the files are parsed already
    t3 = time.perf_counter()
    return {"load_s": t1 - t0, "compile_s": t2 - t1, "reload_s": t3 - t2,
            "rules": len(pack.rules), "modules": len(pack.catalog.modules),
            "stages": {s: len(pack.stage_rules(s)) for s in pipeline.plans},
            "warnings": sum(p.severity == "warning" for p in problems), "rss_mb": rss_mb()}


def yaml_read(root: str) -> dict:
    """Parse every YAML file of a pack with the fast reader, then with ruamel.yaml's round-trip
    reader alone (what content/yamlfile.py used before: the baseline)."""
    from ruamel.yaml import YAML    # the baseline only (the bench extra installs it)

    from configurator.content import yamlfile

    texts = [p.read_text(encoding="utf-8") for p in sorted(Path(root).rglob("*.yaml"))]
    t0 = time.perf_counter()
    fast = [yamlfile.parse_yaml(t) for t in texts]
    t1 = time.perf_counter()
    slow = [YAML(typ="rt").load(t) for t in texts]
    t2 = time.perf_counter()
    same = [yamlfile.plain(a) for a in fast] == [yamlfile.plain(b) for b in slow]
    return {"files": len(texts), "lines": sum(t.count("\n") for t in texts),
            "fast_s": t1 - t0, "ruamel_s": t2 - t1, "same": same}


def memory(root: str, total: int, every: int) -> dict:
    """RSS after every `every` configurations, up to `total`; every evaluation deletes its
    durable state (an undeleted one would hold about 1.4 MB at 100 rules)."""
    from configurator.content.pack import load_pack
    from configurator.engine.pipeline import Pipeline
    from configurator.services.configurations import configure

    pack = load_pack(root)
    pipeline = Pipeline(pack)
    profiles = _profiles(Path(root), pack)
    samples = [(0, rss_mb())]
    t0 = time.perf_counter()
    for i in range(1, total + 1):
        configure(pipeline, profiles[i % len(profiles)])
        if i % every == 0:
            samples.append((i, rss_mb()))
    live = len(pipeline.engine._handles)
    return {"samples": samples, "seconds": time.perf_counter() - t0, "rulesets": live}


def profile(root: str, runs: int) -> dict:
    """A pyinstrument profile of `runs` configurations (the `bench` extra), printed to stderr."""
    from pyinstrument import Profiler

    from configurator.content.pack import load_pack
    from configurator.engine.pipeline import Pipeline
    from configurator.services.configurations import configure

    pack = load_pack(root)
    pipeline = Pipeline(pack)
    profiles = _profiles(Path(root), pack)
    for p in profiles:
        configure(pipeline, p)
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for i in range(runs):
        configure(pipeline, profiles[i % len(profiles)])
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False), file=sys.stderr)
    return {"runs": runs}


def main() -> None:
    kind, *args = sys.argv[1:]
    if kind == "latency":
        result = latency(args[0], args[1], float(args[2]), int(args[3]))
    elif kind == "noise":
        result = noise(float(args[0]), float(args[1]))
    elif kind == "breakdown":
        result = breakdown(args[0], int(args[1]))
    elif kind == "load":
        result = load(args[0])
    elif kind == "profile":        # python bench/inprocess.py profile DIR [RUNS]
        result = profile(args[0], int(args[1]) if len(args) > 1 else 1000)
    elif kind == "yaml":
        result = yaml_read(args[0])
    elif kind == "memory":
        result = memory(args[0], int(args[1]), int(args[2]))
    else:
        raise SystemExit(f"unknown measurement {kind}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
