"""The `trueup` command: operator tools that run beside the services.

    trueup import PATH [--strategy NAME] [--dry-run] [--progress]

`import` loads another bot's `positions.json` into the ledger (services/ledger/domain/imports.py
says how records become holdings). The whole file is validated first; any problem is listed and
nothing is imported (exit 2). Otherwise everything is written in one transaction (exit 0), or
nothing is (exit 1 on a database failure). The database is `DATABASE_URL`, as the ledger's; the
ledger's schema is created or migrated first, so the ledger need not have run yet.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TextIO

import asyncpg

from services.ledger.domain.imports import ImportFileError, ImportPlan, parse_positions_file
from services.ledger.handlers.import_positions import ImportConflict, import_plan
from shared.contracts import utcnow
from shared.db import MigrationError
from shared.settings import BaseServiceSettings, load_settings

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


class TextProgress:
    """`[#####.....] 1200/5000 records` on one line, rewritten in place."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.drawing = False  # a bar is on the current line

    def __call__(self, done: int, total: int) -> None:
        filled = self.width * done // total if total else self.width
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} records")
        self.drawing = done < total
        if not self.drawing:
            self.stream.write("\n")
        self.stream.flush()

    def interrupt(self) -> None:
        """End an unfinished bar's line, so a message after it starts on its own."""
        if self.drawing:
            self.stream.write("\n")
            self.drawing = False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trueup", description="trueup operator commands")
    commands = parser.add_subparsers(dest="command", required=True)
    imports = commands.add_parser(
        "import", help="import another bot's positions.json into the ledger",
        description="Import a positions.json (the Rust arb bot's position tracker) into the ledger, "
                    "all or nothing. Re-importing an unchanged file changes nothing.")
    imports.add_argument("path", type=Path, help="the positions.json file")
    imports.add_argument("--strategy", metavar="NAME", default=None,
                         help="strategy name for the imported positions (a-z, 0-9, _; default: none, "
                              "their origin is 'imported' either way)")
    imports.add_argument("--dry-run", action="store_true",
                         help="validate and show what would be imported; write nothing")
    imports.add_argument("--progress", action="store_true",
                         help="show a progress bar even when stderr is not a terminal")
    return parser


def _plain(number: Decimal) -> str:
    """A decimal as a person reads it: no exponent, no trailing zeros (the value is unchanged)."""
    return f"{number.normalize():f}"


def _describe(plan: ImportPlan) -> list[str]:
    lines = []
    for record in plan.records:
        for o in record.openings:
            state = (f"{_plain(o.quantity)} {o.outcome} @ {_plain(o.avg_price)} (cost {_plain(o.cost_basis)})"
                     if o.quantity else "closed")
            lines.append(f"  {record.market_id}: {o.venue} {o.instrument_id} {state}, "
                         f"realized {_plain(o.realized_pnl)}, fees {_plain(o.fees)}")
    return lines


def run_import(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        data = args.path.read_bytes()
    except OSError as exc:
        print(f"{args.path}: cannot read: {exc.strerror}; nothing imported", file=err)
        return EXIT_INVALID
    try:
        plan = parse_positions_file(data, file_name=args.path.name, as_of=utcnow(), strategy_name=args.strategy)
    except ImportFileError as exc:
        for line in exc.errors:
            print(line, file=err)
        problems = len(exc.errors)
        print(f"{problems} problem{'s' if problems != 1 else ''}; nothing imported", file=err)
        return EXIT_INVALID
    for warning in plan.warnings:
        print(f"warning: {warning}", file=err)
    holdings = sum(len(r.openings) for r in plan.records)
    unmapped = sum(1 for o in plan.openings if o.instrument_id.startswith("unmapped:"))
    if unmapped:
        print(f"warning: {unmapped} Polymarket leg(s) have no asset id (instrument 'unmapped:...'); "
              "the reconciler will report them until mapped", file=err)
    if not holdings:
        print(f"{args.path.name}: {len(plan.records)} records, none holding anything; nothing to import", file=out)
        return EXIT_OK
    if args.dry_run:
        print(f"dry run: {args.path.name}: {len(plan.records)} records, {holdings} holdings would be imported:",
              file=out)
        for line in _describe(plan):
            print(line, file=out)
        return EXIT_OK
    return _write(plan, args, out, err)


def _write(plan: ImportPlan, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # An operator's shell or the ledger's environment: only the database setting matters here.
    settings = load_settings(BaseServiceSettings, service="trueup import", strict=False)
    bar = TextProgress(err) if args.progress or err.isatty() else None
    try:
        result = asyncio.run(import_plan(settings.database_url, plan, progress=bar))
    except (ImportConflict, MigrationError, asyncpg.PostgresError, OSError) as exc:
        if bar:
            bar.interrupt()
        print(f"import failed, nothing imported: {exc}", file=err)
        return EXIT_FAILED
    if result.import_id is None:
        print(f"{args.path.name}: nothing new: all {result.openings_skipped} holdings of its {result.records} "
              "records are already imported", file=out)
        return EXIT_OK
    print(f"imported {args.path.name}: {result.records} records, {result.openings_written} holdings written, "
          f"{result.openings_skipped} already imported, {result.placeholders_retired} unmapped placeholders "
          f"retired, {result.instruments} instruments recomputed (import {result.import_id})", file=out)
    return EXIT_OK


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    args = _parser().parse_args(argv)
    out, err = out or sys.stdout, err or sys.stderr
    if args.command == "import":
        return run_import(args, out, err)
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
