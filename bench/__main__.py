"""Every benchmark, one table: B1 acknowledgement and B4 footprint (bench.ack), B2 end to end
(bench.flow), B3 many intercepts (bench.many), on SQLite and on PostgreSQL; B5 reading phrases
(bench.phrases, in-process, no database).

    .venv/bin/python -m bench [--database sqlite postgresql] [--only B1 B2 B3 B5]

Needs wrk (B1) and the PostgreSQL server binaries (the tests' `pgserver`) for the PostgreSQL rows.
About 30 minutes on 2 cores. The table is Markdown, headed by the machine; the README shows the
latest one.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench import ack, flow, many, phrases
from bench.common import DATABASES, Postgres, Row, machine, table

PARTS = ("B1", "B2", "B3", "B5")  # B4 comes with B1


def run(part: str, database: str, postgres: Postgres) -> list[Row]:
    if part == "B1":
        return ack.rows(ack.measure(database, 8.0, postgres))
    if part == "B2":
        return flow.rows(database, *flow.measure(database, 200, postgres))
    with tempfile.TemporaryDirectory(prefix="intercept-bot-bench-") as folder:
        return many.measure(database, 100_000, 1000, Path(folder), postgres)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", nargs="+", choices=DATABASES, default=list(DATABASES))
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    args = parser.parse_args()
    postgres = Postgres()
    found: list[Row] = []
    try:
        for part in args.only:
            if part == "B5":  # no database
                began = time.monotonic()
                found += phrases.rows()
                print(f"B5: {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
                continue
            for database in args.database:
                began = time.monotonic()
                found += run(part, database, postgres)
                print(f"{part} on {database}: {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
    finally:
        postgres.stop()
    print(f"{machine()}\n\n{table(found)}")


if __name__ == "__main__":
    main()
