"""What serving the OpenAPI document costs, in process, on the demo pack.

`/api/v1/openapi.json` holds the served pack's `Profile` schema, so it is built per content
version (api/document.py) and kept as JSON text with its ETag. This measures, as medians:
- the profile's JSON Schema alone (`storable_profile_schema`, also made per `GET /profile-schema`);
- building the document (the code's spec, the Profile, servers, JSON text and its hash);
- a request for the document: kept, built (the cache emptied first, as after a reload), and a
  304 to a client that has it (`If-None-Match`).

    .venv/bin/python bench/openapi.py [--repeat 200]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from configurator.api import document  # noqa: E402 - after the path is set
from configurator.app import create_app  # noqa: E402
from configurator.services.content import Content  # noqa: E402
from configurator.services.customers import storable_profile_schema  # noqa: E402
from configurator.store import migrate  # noqa: E402

OPENAPI = "/api/v1/openapi.json"


def median_ms(call: Callable[[], object], repeat: int) -> float:
    call()                                       # warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        migrate.upgrade(url)
        content = Content(REPO, trial=False)
        assert content.load().ok
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "CONTENT_TRIAL": False,
                          "CONTENT_WATCH_SECONDS": 0}, content=content)
        api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
        served = api.served_document
        client = app.test_client()
        pack = content.pack
        size = len(client.get(OPENAPI).data)
        etag = client.get(OPENAPI).headers["ETag"]

        def built() -> None:
            served._kept.clear()
            client.get(OPENAPI)

        with app.test_request_context(OPENAPI):
            figures = {
                "the Profile JSON Schema (storable_profile_schema)":
                    median_ms(lambda: storable_profile_schema(pack), repeat),
                "building the document (document._build)":
                    median_ms(lambda: document._build(api.spec, pack, "/"), repeat),
            }
        figures["GET openapi.json, kept"] = median_ms(lambda: client.get(OPENAPI), repeat)
        figures["GET openapi.json, built (after a reload)"] = median_ms(built, repeat)
        figures["GET openapi.json, 304 (If-None-Match)"] = median_ms(
            lambda: client.get(OPENAPI, headers={"If-None-Match": etag}), repeat)
        app.extensions["configurator.db"].dispose()
    print(f"OpenAPI document: {size:,} bytes; medians of {repeat} runs")
    for what, ms in figures.items():
        print(f"  {what:52} {ms:7.2f} ms")


if __name__ == "__main__":
    main()
