"""docs/performance.md from one benchmark run's results (bench/run.py)."""
from __future__ import annotations

YES, NO = "met", "**not met**"


def _ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"


def _mark(ok: bool | None) -> str:
    return "n/a" if ok is None else (YES if ok else NO)


def targets(r: dict) -> list[tuple[str, str, str, bool | None]]:
    """(target, measured, baseline, met) for every target of issue 6."""
    lat = r["latency"]
    demo, ref = lat["demo/durable"], lat["demo/reference"]
    k1, k10 = lat["1000/durable"], lat["10000/durable"]
    b = r["breakdown"]
    load10 = r["load"]["10000"]
    rows = [
        ("demo pack: p99 < 5 ms per configuration in-process",
         f"p99 {_ms(demo['p99_ms'])} wall, {_ms(demo['cpu_p99_ms'])} CPU (median {_ms(demo['median_ms'])})",
         f"reference engine p99 {_ms(ref['p99_ms'])}; a fixed {_ms(r['noise']['median_ms'])} loop: "
         f"p99 {_ms(r['noise']['p99_ms'])} wall", demo["p99_ms"] < 5),
        ("demo pack: the pipeline's own overhead < half the time inside durable-rules",
         f"overhead {_ms(b['overhead_ms'])} (validation {_ms(b['validation_ms'])}, pipeline "
         f"{_ms(b['pipeline_ms'])})", f"inside durable-rules {_ms(b['durable_ms'])}",
         b["overhead_ms"] < b["durable_ms"] / 2),
        ("10,000 rules: p99 < 50 ms", f"p99 {_ms(k10['p99_ms'])} (median {_ms(k10['median_ms'])})",
         f"reference engine p99 {_ms(lat['10000/reference']['p99_ms'])}", k10["p99_ms"] < 50),
        ("10x the rules (1,000 -> 10,000) < 3x the time",
         f"{k10['median_ms'] / k1['median_ms']:.1f}x (median {_ms(k1['median_ms'])} -> {_ms(k10['median_ms'])})",
         f"reference engine {lat['10000/reference']['median_ms'] / lat['1000/reference']['median_ms']:.1f}x",
         k10["median_ms"] / k1["median_ms"] < 3),
        ("loading a 10,000-rule pack < 5 s",
         f"{load10['load_s'] + load10['compile_s']:.1f} s (read and check {load10['load_s']:.1f} s, "
         f"compile {load10['compile_s']:.1f} s)",
         f"demo pack {r['load']['demo']['load_s'] + r['load']['demo']['compile_s']:.2f} s",
         load10["load_s"] + load10["compile_s"] < 5),
    ]
    mem = r["memory"]["samples"]
    first = mem[1][1] if len(mem) > 1 else mem[0][1]
    growth = mem[-1][1] - first
    rows.append((f"no memory growth over {mem[-1][0]:,} configurations",
                 f"{growth:+.1f} MB from {mem[1][0]:,} to {mem[-1][0]:,} configurations",
                 f"RSS {mem[1][1]:.0f} MB after {mem[1][0]:,}", abs(growth) < 2))
    cache = r.get("cache", {})
    rows.append(("compiled rulesets cached per content version, never rebuilt per request",
                 f"{cache.get('during_requests', '?')} rulesets built during {cache.get('requests', '?')} "
                 "API configure-and-save requests", f"{cache.get('at_load', '?')} at content load",
                 cache.get("during_requests") == 0 if "during_requests" in cache else None))
    http = r.get("http")
    if http:
        best = _best_setting(http)
        for row in http:
            if row["setting"] != best or row["connections"] != 16:
                continue
            c, t = row["configure"], row["trivial"]
            rows.append((f"HTTP ({row['label']}, c16): configure-and-save >= 1/4 of a trivial endpoint",
                         f"{c['rps']:.0f}/s = {row['ratio']:.2f} of it", f"`GET /api/v1/health` {t['rps']:.0f}/s",
                         row["ratio"] >= 0.25))
            rows.append((f"HTTP ({row['label']}, c16): p99 < 50 ms, no errors",
                         f"p99 {_ms(c['p99_ms'])}, {c['errors']} errors",
                         f"`GET /api/v1/health` p99 {_ms(t['p99_ms'])}", c["p99_ms"] < 50 and c["errors"] == 0))
    else:
        rows.append(("HTTP targets", "not measured in this run (--no-http)", "", None))
    pdf = r.get("pdf")
    if pdf and "typical-en" in pdf:
        typ, big = pdf["typical-en"], pdf["large-en"]
        rows.append(("typical proposal < 1.5 s warm, >= 5 pages/s",
                     f"{typ['pages']} pages in {typ['warm_median_s']} s warm = {typ['pages_per_s']} pages/s",
                     f"cold {typ['cold_s']} s", typ["warm_median_s"] < 1.5 and typ["pages_per_s"] >= 5))
        rows.append(("40-page proposal < 10 s in < 400 MB",
                     f"{big['pages']} pages in {big['warm_median_s']} s, peak {big['peak_rss_mb']} MB",
                     f"{big['rss_before_mb']} MB before rendering",
                     big["warm_median_s"] < 10 and big["peak_rss_mb"] < 400 and big["pages"] >= 38))
        stored = pdf.get("stored", {})
        if "renders" in stored:
            rows.append(("a rendered revision is served from the store, never rendered twice",
                         f"asked twice: {stored['renders']} render; answers {stored['answers']}, "
                         f"second in {stored['second_s'] * 1e3:.0f} ms",
                         f"first (render) {stored['first_s']:.2f} s", stored["renders"] == 1))
    else:
        rows.append(("PDF targets", "pending issue 3" + (f" ({pdf['error']})" if pdf and "error" in pdf else ""),
                     "", None))
    return rows


def _best_setting(http: list[dict]) -> str:
    """The faster server setting: more configure-and-save requests/s at concurrency 16."""
    at16 = [row for row in http if row["connections"] == 16]
    return max(at16, key=lambda row: row["configure"]["rps"])["setting"]


def render(r: dict) -> str:
    m = r["machine"]
    lat = r["latency"]
    out = [
        "# Performance",
        "",
        "Generated by `bin/bench` (`bench/run.py`); do not edit by hand, run it again. "
        "`bin/bench --quick` is a shorter run. Tests never assert on these figures.",
        "",
        f"**Machine:** {m['nproc']} cores ({m['cpu']}), {m['memory_gb']} GB memory, Python "
        f"{m['python']}, durable-rules {m['durable']}, {m['os']}; load average at the start "
        f"{m['load'][0]:.2f} / {m['load'][1]:.2f} / {m['load'][2]:.2f} (1/5/15 min); run on "
        f"{m['date']}{' with --quick' if r.get('quick') else ''}, {r.get('seconds', 0) / 60:.0f} minutes. "
        "The machine is shared with other tenants: absolute figures move by 20-50% between runs, "
        "and wall-clock tails (p99) stretch whenever a neighbour is busy. Compare figures of one "
        "run with each other (every baseline below was measured in the same run), and read the "
        "CPU-time p99 (time this process actually ran) beside the wall-clock p99.",
        "",
        "## Targets",
        "",
        "<!-- table -->",
        "| target | measured | baseline, same run | |",
        "|---|---|---|---|",
    ]
    for target, measured, baseline, ok in targets(r):
        out.append(f"| {target} | {measured} | {baseline} | {_mark(ok)} |")
    out += ["<!-- /table -->", ""]

    out += ["## Configuration latency in-process", "",
            "`services.configurations.configure` (profile validation, the five stages, pricing, "
            "the document) on each pack's example customers in turn, one process per row, after "
            "a warm-up. The baseline is the same pipeline with the plain-Python reference engine "
            "(`configurator/engine/reference_engine.py`: the simplest correct loop over the same "
            "rules, with the same priorities, chaining, fire-once, drafts and effective dates; "
            "`tests/engine/test_reference_engine.py` checks that both give identical "
            "documents).", "",
            "| pack | rules fired (mean) | durable-rules median / p99 | CPU p99 | configurations/s "
            "| reference engine median / p99 | reference /s |",
            "|---|---|---|---|---|---|---|"]
    names = {"demo": "demo (127 rules, 65 modules)", "100": "synthetic 100 rules, 100 modules",
             "1000": "synthetic 1,000 rules, 500 modules", "10000": "synthetic 10,000 rules, 5,000 modules"}
    for key, label in names.items():
        d, ref = lat[f"{key}/durable"], lat[f"{key}/reference"]
        out.append(f"| {label} | {d['fired']:.0f} | {_ms(d['median_ms'])} / {_ms(d['p99_ms'])} | "
                   f"{_ms(d['cpu_p99_ms'])} | {d['per_s']:.0f} | {_ms(ref['median_ms'])} / "
                   f"{_ms(ref['p99_ms'])} | {ref['per_s']:.0f} |")
    n = r["noise"]
    out += ["", f"Machine noise in the same run: a fixed pure-Python loop of {_ms(n['median_ms'])} "
            f"has a wall-clock p99 of {_ms(n['p99_ms'])} and a CPU-time p99 of "
            f"{_ms(n['cpu_p99_ms'])}.", ""]

    b = r["breakdown"]
    out += ["## Where a demo configuration's time goes", "",
            "Every call into durable-rules' C extension timed (assert, retract, activations, state "
            "deletion), over the demo pack's example customers:", "",
            "| part | time per configuration |", "|---|---|",
            f"| inside durable-rules | {_ms(b['durable_ms'])} |",
            f"| profile validation (marshmallow) | {_ms(b['validation_ms'])} |",
            f"| the pipeline in Python | {_ms(b['pipeline_ms'])} |"]
    part_names = {"world": "world facts: the JSON fact each stage asserts, again after a derived "
                           "fact changed",
                  "actions": "rule actions: texts, quantity expressions, derived facts, requests",
                  "solution": "solution and pricing (`Decimal`) after each stage that asked "
                              "for something",
                  "document": "the document"}
    parts = b.get("parts_ms", {})
    for name, label in part_names.items():
        if name in parts:
            out.append(f"| - {label} | {_ms(parts[name])} |")
    if parts:
        out.append(f"| - the rest: reading activations, firing order, bookkeeping | "
                   f"{_ms(b['pipeline_ms'] - sum(parts.values()))} |")
    out += [f"| total | {_ms(b['total_ms'])} |", ""]

    out += ["## Content load and compile", "",
            "Cold, in a new process: read every file (YAML 1.2 with line numbers), check structure, "
            "types and engine limits, lint; then compile for durable-rules (the `Pipeline`: "
            "conditions, limit checks, one ruleset per stage). `again`: the same check once the "
            "files have been read, as a reload of a changed pack is (only changed files are "
            "parsed again).", "",
            "| pack | rules per stage | read and check | compile | again (reload) | memory after |",
            "|---|---|---|---|---|---|"]
    for key, label in names.items():
        ld = r["load"][key]
        stages = " / ".join(f"{v:,}" for v in ld["stages"].values())
        out.append(f"| {label} | {stages} | {ld['load_s']:.2f} s | {ld['compile_s']:.2f} s | "
                   f"{ld['reload_s']:.2f} s | {ld['rss_mb']:.0f} MB |")
    y = r.get("yaml")
    if y:
        out += ["", f"YAML alone, the 1,000-rule pack's {y['files']} files ({y['lines']:,} lines): "
                f"{y['fast_s']:.2f} s with the reader in `content/yamlfile.py`, "
                f"{y['ruamel_s']:.2f} s with ruamel.yaml's round-trip reader (the baseline: "
                f"the reader it replaced, installed by the `bench` extra for this measurement "
                f"only), {y['ruamel_s'] / y['fast_s']:.0f}x; "
                f"{'the same values' if y['same'] else 'DIFFERENT values'} from both."]
    packs = r.get("packs", {})
    if packs:
        out += ["", "`configurator check` (with its trial run in a child process) on the generated "
                "packs: " + "; ".join(f"{int(k):,} rules: {'passed' if v['check_ok'] else 'FAILED'} "
                                       f"in {v['check_s']:.0f} s" for k, v in packs.items()) + "."]
    out.append("")

    mem = r["memory"]
    out += [f"## Memory over {mem['samples'][-1][0]:,} configurations", "",
            "The demo pack configured in one process; resident memory after every "
            f"{mem['samples'][1][0]:,} ({mem['seconds']:.0f} s in all). Every evaluation deletes "
            "its durable-rules state in `finally` (an undeleted one holds about 1.4 MB at 100 "
            "rules, and 1,024 live ones exhaust a ruleset).", "",
            "| configurations | " + " | ".join(f"{n:,}" for n, _ in mem["samples"]) + " |",
            "|---|" + "---|" * len(mem["samples"]),
            "| RSS (MB) | " + " | ".join(f"{v:.1f}" for _, v in mem["samples"]) + " |", ""]

    http = r.get("http")
    if http:
        best = _best_setting(http)
        out += ["## HTTP", "",
                "`configurator serve` on 127.0.0.1 with a fresh SQLite database, driven by wrk "
                "(2 threads) on the same 2 cores. `POST /api/v1/configurations` validates, "
                "configures, saves the customer, configuration and revision and answers 201 with "
                "the document (the demo's example customers in turn); the baseline is "
                "`GET /api/v1/health` of the same server in the same minute.", "",
                "| server | connections | configure-and-save req/s | p50 / p99 | errors | health req/s | p50 / p99 | ratio |",
                "|---|---|---|---|---|---|---|---|"]
        for row in http:
            c, t = row["configure"], row["trivial"]
            out.append(f"| {row['label']} | {row['connections']} | {c['rps']:.0f} | "
                       f"{_ms(c['p50_ms'])} / {_ms(c['p99_ms'])} | {c['errors']} | {t['rps']:.0f} | "
                       f"{_ms(t['p50_ms'])} / {_ms(t['p99_ms'])} | {row['ratio']:.2f} |")
        label = next(row["label"] for row in http if row["setting"] == best)
        note = ("" if best == "sync" else " (in this run gthread workers were faster; sync "
                "won the runs made while choosing the default: compare several runs before "
                "changing it)")
        out += ["", f"Faster in this run (configure-and-save at concurrency 16): **{label}**. "
                "`configurator serve` defaults to gunicorn sync workers, 2 of them"
                f"{note}; `--threads 4` gives gthread workers. durable-rules evaluates one "
                "configuration at a time per process and never releases the GIL, so threads "
                "add no engine parallelism; they keep a worker answering while one of its "
                "threads waits (a PDF render, a database lock).", ""]

    pdf = r.get("pdf")
    out += ["## PDF proposals", ""]
    if pdf and "typical-en" in pdf:
        out += ["Measured by issue 3's `bench/proposals.py` (each case in a fresh process; warm: "
                "median of the repeated renders).", "",
                "| case | pages | warm | pages/s | CPU | cold | peak memory (before) |",
                "|---|---|---|---|---|---|---|"]
        for key in ("typical-en", "kestrel-en", "large-en"):
            if key not in pdf:
                continue
            p = pdf[key]
            out.append(f"| {p['label']} | {p['pages']} | {p['warm_median_s']} s | {p['pages_per_s']} | "
                       f"{p['cpu_median_s']} s | {p['cold_s']} s | {p['peak_rss_mb']} MB ({p['rss_before_mb']} MB) |")
        out.append("")
    else:
        out += ["Pending issue 3" + (f": {pdf['error']}" if pdf and "error" in pdf else "") + ".", ""]

    out += [LIMITS, ""]
    return "\n".join(out)


LIMITS = """## What limits the figures

- **durable-rules builds fresh state for every evaluation.** Each evaluation runs on new
  sessions, and durable-rules allocates and clears, per session, a message pool of about 150 KB
  and about 8 KB for every rule of the ruleset (two 512-entry frame indexes per rule), whether
  the rule can match or not; deleting the state frees it all. The service keeps deleting the
  state of every evaluation (no configuration can see another's; memory stays flat), so two
  things were changed around it (see below): glibc's malloc now reuses those blocks instead of
  mapping fresh, zeroed pages for each session, and a stage of 300 rules or more is split so
  that a configuration pays the state only of the rules whose first test can hold.
- **The demo pack's overhead target is out of reach in CPython.** durable-rules matches the
  demo's 127 rules in well under a fifth of a millisecond per configuration. Around it the
  pipeline writes the world fact each stage asserts (JSON), applies about 35 actions (texts,
  quantity expressions, derived facts), rebuilds and prices the solution in `Decimal` after the
  stages that changed it, builds the document, and validates the profile first; each of those
  parts alone is about as much as half of durable-rules' time allows (see "Where a demo
  configuration's time goes"), so "under half" would need the Python part cut to about a tenth
  of what it is, which no tuning of this code reaches: it would mean moving the pipeline itself
  into compiled code. The whole configuration is well within the 5 ms target.
- **HTTP is bound by the web and database layers, not the engine.** A configure-and-save request
  costs about 2-3 ms of CPU: configuring under 1 ms, storing (one write transaction: customer,
  content version check, two inserts, commit) about half a millisecond, and the rest Flask,
  flask-smorest, the API-key check and rate limit, and writing the answer. On 2 cores shared
  with wrk, p99 follows throughput (Little's law: 16 / requests per second is the mean wait at
  concurrency 16, 64 / requests per second at 64, which is why c64 cannot be under 50 ms here).
  At c16 that mean wait is 30-35 ms at 450-550 requests/s, so the 50 ms p99 target is met or
  missed by how busy the shared machine is during the run: on 2026-11-28 six runs of this code
  (every in-process call the same, counted) gave p99 32 to 82 ms, and `/health`'s own p99 in
  the same runs went up to 61 ms.
  gunicorn's gthread workers lose on the tail: wrk's keep-alive connections stay with the worker
  that accepted them, unevenly, and a worker's threads wait for each other's GIL hand-offs;
  sync workers take one request at a time, a new connection each, from one queue.
- **The machine.** Wall-clock p99 moves with the neighbours' load (see the fixed loop's p99 in
  the same run); CPU-time p99 shows what the code itself does.
- **PDF**: WeasyPrint's layout and drawing, about 0.05 s per page plus a fixed part; the
  contents page is laid out three times (WeasyPrint resolves `target-counter` page numbers that
  way), about a tenth of a typical proposal.

## What was changed to get here

- **Large stages are split** (`Partitions`, `engine/partitions.py`, from 300 rules a stage):
  rules whose condition begins with an equality (or `in`) on a text fact that cannot change
  during the stage (profile, solution, or a derived fact no rule of the stage derives) are
  grouped by that first test into rulesets of their own (rare first tests on the same field
  share one); the rest form one ruleset that always runs. A configuration looks the facts up in
  an index, runs only the rulesets whose first test may hold, each with a world fact of just the
  facts its rules compare, and `DurableEngine.evaluate_merged` fires the rules that hold in any
  of them in the stage's single firing order, re-asserting each world after a derived fact
  changed. The same documents as one ruleset per stage and as the reference engine
  (tests/engine/test_engine_partitions.py).
- **malloc tuning** (`durable_adapter`, glibc only; `CONFIGURATOR_MALLOC_TUNING=0` turns it
  off): mmap threshold 32 MB, trim threshold 128 MB, so durable-rules' per-session blocks are
  reused from the heap; set-up and deletion of a session cost 5-10x less.
- No cyclic garbage collection while a pack is compiled (hundreds of thousands of live objects
  were walked again and again); per-rule compared facts are computed once per compile.
- World facts (`engine/world.py`): the facts a world compares are nested in dicts as in the
  facts and written by orjson. Its profile and solution part is written once per stage (the
  profile facts any stage compares once per configuration; a part of a split stage carries only
  its own rules' profile facts); after a derived fact changed only the derived part and the
  `has` flags are written again, from values kept until a derived fact changes, and a world
  whose text did not change is not asserted again. This replaced a Python function generated for
  each world shape that joined per-fact JSON texts kept in caches: less code, and about 9% less
  time per demo configuration and 6% per 10,000-rule configuration, measured alternately against
  it.
- The world fact of a stage carries only the derived and solution facts that stage's rules
  compare; a derived fact that no rule of the stage compares (or a value that did not change) no
  longer retracts and re-asserts the world.
- The solution is rebuilt at a stage's end only when the stage asked for something; a line's
  document uses the catalog's prices formatted once per catalog.
- YAML: libyaml composes the node tree and the values are resolved with YAML 1.2's rules
  (what no content file needs, such as directives, is refused rather than read by a second
  reader); parsed files are kept with their text, so a reload parses only changed files.
- PDF: the typical proposal is the demo's median customer (13 lines, 8 pages), the largest demo
  account (Kestrel, 21 lines) is measured beside it; the template is denser (margins, type
  size, spacing, benefits on one line) and sets "Why this fits you" and the rules that made the
  difference two to a row (tables: CSS columns cost WeasyPrint a layout pass per balancing
  attempt). Kestrel went from 13 pages to 10. Then about 40% less time per render, the PDF
  byte for byte the same (a test compares with plain WeasyPrint): the template's style sheets
  are parsed once per process, one font configuration per thread is reused, compiled Jinja is
  kept, WeasyPrint's user-agent sheet is used without the footnote and note pseudo-elements it
  otherwise styles for every element, and no garbage collection runs during a render; the
  contents page lost its dot leaders (a box per dot, laid out three times) and benefits and
  reasons are single runs of text.
- `check` refuses what would hang durable-rules' `create_ruleset`: more than 500 different tests
  after one test or as first tests of a stage, across fields (the engine hangs at 513).
- **Configure-and-save** (`services/configurations.py`, which stores through
  `store/configurations.py`): the ORM's unit of work is gone from the busiest write. Adding a
  configuration to its customer made the ORM load that customer's whole list of configurations,
  so every request cost more than the one before for the same customer; the customer, the
  configuration and its first revision are now plain inserts on the session's connection, with
  their statements built once. The document goes into the answer as the pipeline made it (it is
  JSON already: a property test checks), and orjson writes the JSON columns and the answer
  (`jsontext.py`; the standard encoder took about 48 us a document).
- **Split stages, cheaper** (10,000 rules: median about 6.6 -> 4.7 ms): each part's world was
  written by a Python function compiled for its shape (the facts its rules compare), where a
  nested walk in Python ran for every part of every configuration (since replaced by orjson: see
  "World facts" above); the parts to run are found through an index by lead instead of testing
  every part; and parts are smaller (a lead with 4 or more rules alone, rarer leads 8 rules to a
  part), since a session costs little since the malloc tuning and fewer rules of leads that do
  not hold now ride along; a session's marker and world facts are asserted in one call.
- **Garbage collection in the server**: after loading (and after each reload) a worker
  collects once and freezes what is alive (`gcpause.freeze_long_lived`): a full collection
  walked the 120,000 objects of the content and pipeline, about 150 ms of a worker answering
  nothing, which was the HTTP latency's tail.
- **`configurator serve` uses sync workers** by default, the faster setting in the table above.
- **Content load** (10,000 rules about 35% faster): the YAML reader keeps only each mapping's
  and list's own line and each key's or item's line, tracks aliases only in a file with an
  anchor, and resolves values with YAML 1.2 patterns compiled once; checks and lint evaluate each
  distinct test once however many rules repeat it (types, whether it can ever hold, parsed
  expressions and reason templates); include/exclude pairs are found through an index by
  module; a compiled condition records its tests as it is built, so the limit checks and the
  pipeline do not walk it again; the tree that checks durable-rules' limits has no cycles, so
  it is freed without the garbage collector."""
