"""`interlink sync [--once | --follow]`: push outbox entries to the registries over EPP;
`interlink sync --reconcile [--tld T]`: the drift check (tui/commands/reconcile.py)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import sys
from pathlib import Path

import typer

from domains import speedups
from domains.settings import get_settings
from domains.store import Store
from portal.links import PortalLinks
from publishers.db_retry import OutageGuard
from publishers.registries import RegistryMap, load_registries
from publishers.sync.options import SWITCH_INTERVAL, ProgressLike, SyncOptions
from publishers.sync.report import SyncReport
from publishers.sync.worker import SyncWorker
from tui.commands.common import (
    configure_logging,
    console,
    err_console,
    opened_store,
    user_errors,
)
from tui.progress import rich_progress


def sync_command(
    once: bool = typer.Option(False, "--once", help="Sync what is due now, then stop (default)."),
    follow: bool = typer.Option(
        False, "--follow", help="Keep running and sync new changes as they come (Ctrl-C stops)."
    ),
    workers: int = typer.Option(
        1, "--workers", min=1, max=32, help="Workers side by side (PostgreSQL only)."
    ),
    sessions: int | None = typer.Option(
        None,
        "--sessions",
        min=1,
        max=64,
        help="EPP sessions per registry and worker (default: the registries file).",
    ),
    registries_file: Path | None = typer.Option(
        None,
        "--registries",
        help="Registries TOML file (default: settings, else the packaged sandbox config).",
    ),
    database_url: str | None = typer.Option(None, "--db", help="Database URL (default: settings)."),
    lease: float = typer.Option(
        300.0,
        "--lease",
        min=1.0,
        help="Seconds after which another worker may take over an "
        "entry a worker claimed but never finished.",
    ),
    batch: int = typer.Option(64, "--batch", min=1, max=1000, help="Entries claimed at once."),
    worker_id: str | None = typer.Option(
        None, "--worker-id", help="Name in claimed_by (default: host:pid:random)."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show backlog progress."),
    reconcile: bool = typer.Option(
        False,
        "--reconcile",
        help="Instead of syncing: ask each domain's registry what it holds (domain:info, "
        "contact:info, at most the registry's commands_per_second), list every difference from "
        "the store, and keep the run for the Sync screen.",
    ),
    tld: str | None = typer.Option(
        None, "--tld", help="With --reconcile: only the domains of this TLD."
    ),
) -> None:
    """Send contact and technical-contact changes to each TLD's registry over EPP."""
    configure_logging(verbose=False)  # a no-op when `interlink` configured it already
    speedups.install()  # a no-op when `interlink` installed them already
    sys.setswitchinterval(SWITCH_INTERVAL)
    if once and follow:
        err_console.print("[bold red]error:[/] choose --once or --follow, not both")
        raise typer.Exit(2)
    if reconcile and (once or follow):
        err_console.print("[bold red]error:[/] --reconcile runs alone, without --once or --follow")
        raise typer.Exit(2)
    if tld is not None and not reconcile:
        err_console.print("[bold red]error:[/] --tld goes with --reconcile")
        raise typer.Exit(2)
    if reconcile:
        from tui.commands.reconcile import run_reconcile

        with user_errors(), opened_store(database_url) as store:
            path = registries_file or store.settings.registries_file
            registries = load_registries(path, data_dir=store.settings.data_dir)
            run_reconcile(store, registries, tld)
        return
    with user_errors(), contextlib.ExitStack() as stack:
        store = _open(stack, database_url, follow)
        if store.is_sqlite and workers > 1:
            err_console.print(
                "[bold red]error:[/] on SQLite one sync worker runs at a time; "
                "use PostgreSQL for --workers > 1"
            )
            raise typer.Exit(2)
        path = registries_file or store.settings.registries_file
        registries = load_registries(path, data_dir=store.settings.data_dir)
        options = SyncOptions(worker_id=worker_id, sessions=sessions, lease=lease, batch=batch)
        if progress and not follow:
            with rich_progress() as bar:
                report = asyncio.run(_run(store, registries, workers, follow, options, bar))
        else:
            report = asyncio.run(_run(store, registries, workers, follow, options, None))
    console.print(summary(report))
    if report.failed:
        raise typer.Exit(1)


def _open(stack: contextlib.ExitStack, database_url: str | None, follow: bool) -> Store:
    """The store, closed with `stack`. A worker that follows rides out a database that is
    briefly away at its start too (sync.database_outage_limit); a single run fails at once."""
    if not follow:
        return stack.enter_context(opened_store(database_url))
    guard = OutageGuard.from_settings(get_settings().sync)
    return guard.call(lambda: stack.enter_context(opened_store(database_url)), what="opening")


def summary(report: SyncReport) -> str:
    """One line about a run: what was done, kept local, failed, left for a retry."""
    line = (
        f"registry sync: {report.done} done, {report.local_only} local-only, "
        f"{report.failed} failed, {report.retried} to retry later"
    )
    if report.skipped:
        line += f", {report.skipped} skipped (domain transferred away)"
    if report.requests_completed or report.requests_failed:
        line += (
            f"; change requests: {report.requests_completed} completed, "
            f"{report.requests_failed} sync failed"
        )
    if report.notices_sent:
        line += f"; {report.notices_sent} notices sent"
    if report.poll_messages:
        line += f"; {report.poll_messages} poll messages read"
    if report.domains_gone:
        line += f" ({report.domains_gone} domains transferred away, marked gone)"
    return line + f" ({report.seconds:.1f} s)"


async def _run(
    store: Store,
    registries: RegistryMap,
    workers: int,
    follow: bool,
    options: SyncOptions,
    bar: ProgressLike | None,
) -> SyncReport:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    worker_id = options.worker_id
    team = [
        SyncWorker(
            store,
            registries,
            dataclasses.replace(
                options, worker_id=f"{worker_id}-{n}" if worker_id and workers > 1 else worker_id
            ),
            progress=bar if n == 0 else None,
            links=PortalLinks(store.settings),
        )
        for n in range(workers)
    ]
    runs = [asyncio.ensure_future(w.follow(stop) if follow else w.run_once()) for w in team]
    try:
        reports = await asyncio.gather(*runs)
    except BaseException:
        # One worker gave up (the database stayed away past sync.database_outage_limit): the
        # others stop too, before their sessions and threads are closed under them.
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        raise
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
        for w in team:
            await w.close()
    total = SyncReport()
    for report in reports:
        total.add(report)
    total.seconds = max((r.seconds for r in reports), default=0.0)
    return total


if __name__ == "__main__":  # python -m tui.commands.sync ... (the crash test runs it this way)
    typer.run(sync_command)
