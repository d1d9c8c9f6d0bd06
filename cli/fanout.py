"""Asking several servers the same thing at once: one thread per server,
rows tagged with the server's `host`, and a server that fails reported on
stderr while the others' rows are still shown (exit 6 then)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import click
import pywbem

from cimprovider.cli.connection import Session, host_label
from cimprovider.cli.failures import PARTIAL, CommandFailure, explain
from cimprovider.cli.output import Record


@dataclass
class Gathered:
    rows: list[Record] = field(default_factory=list)
    failures: list[tuple[str, str, int]] = field(default_factory=list)  # (url, why, exit code)
    asked: int = 0

    @property
    def answered(self) -> bool:
        return len(self.failures) < self.asked

    def finish(self, what: str) -> None:
        """After printing the rows: fail as the one server did, or with 6
        if only some servers failed (each was already named on stderr)."""
        if not self.failures:
            return
        url, why, code = self.failures[0]
        if self.asked == 1:
            raise CommandFailure(f"{what}: {why}", code)
        for url, why, _code in self.failures:
            click.echo(f"cimprovider: {what} on {host_label(url)}: {why}", err=True)
        raise SystemExit(PARTIAL if len(self.failures) < self.asked else code)


def gather(session: Session, fetch: Callable[[pywbem.WBEMConnection], list[Record]]) -> Gathered:
    """`fetch` on every server in parallel; rows keep the order of --server."""
    result = Gathered(asked=len(session.servers))
    connections = {url: session.connection(url) for url in session.servers}
    with ThreadPoolExecutor(max_workers=min(8, len(connections))) as pool:
        futures = {url: pool.submit(fetch, conn) for url, conn in connections.items()}
        for url, future in futures.items():
            try:
                rows = future.result()
            except CommandFailure as error:
                result.failures.append((url, error.format_message(), error.exit_code))
                continue
            except pywbem.Error as error:
                why, code = explain(error)
                result.failures.append((url, why, code))
                continue
            result.rows.extend({"host": host_label(url), **row} for row in rows)
    return result
