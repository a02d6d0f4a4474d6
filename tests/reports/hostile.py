"""Attacker-controlled text planted in a copy of the sample district, and a loopback server that
counts every request, so a test can prove a report made nothing active (issue 6: a bio containing
`=HYPERLINK(...)`, `<script>`, `<img onerror=...>` or `javascript:` links must be inert everywhere).

The payloads enter through the library's real write paths: accounts and people saved by
`Inventory`, a waiver by `auditor.services.audit.waive`, a reveal reason by `Escrow.reveal`, and a new audit
run whose finding messages quote the hostile person's name.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.reports.conftest import NOW, District


class LeakServer:
    """Counts requests on 127.0.0.1; any request at all means a payload went active."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                self.send_response(204)
                self.end_headers()

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LeakServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def leak_server() -> Iterator[LeakServer]:
    with LeakServer() as server:
        yield server


def payloads(base: str) -> dict[str, str]:
    return {
        "formula": f'=HYPERLINK("{base}/leak-formula","Click for the schedule")',
        "img": f'<img src="{base}/leak-img" onerror="fetch(\'{base}/leak-onerror\')">',
        "script": f"<script>fetch('{base}/leak-script')</script>",
        "css": f"<style>body{{background:url({base}/leak-css)}}</style>"
        f"<div style=\"background:url('{base}/leak-style')\">styled</div>",
        "link": f"javascript:fetch('{base}/leak-js')",
        "dde": "-2+3+cmd|' /C calc'!A0",
        "terminal": "\x1b]0;pwned\x07\x1b[31mred",
    }


def plant(district: District, base: str) -> dict[str, str]:
    """Put every payload into the district; returns the payloads."""
    from auditor.engine.ledger import finding_id, ledger
    from auditor.services.audit import AuditOptions, load_runs, run_audit, waive
    from vault.escrow.store import Escrow
    from vault.stores.inventory import Inventory

    p = payloads(base)
    reg = district.open()
    try:
        inv = Inventory(reg)
        accounts = {f"{a.platform.value}:{a.handle}": a for a in inv.accounts()}
        inv.save_account(dataclasses.replace(accounts["x:naperville203"], display_name=p["formula"]))
        inv.save_account(
            dataclasses.replace(
                accounts["x:nnhs_athletics"],
                display_name=p["img"] + p["script"] + p["terminal"],
                profile_url=p["link"],
            )
        )
        tom = inv.person_by_email("tokafor@naperville203.org")
        assert tom is not None
        inv.save_person(dataclasses.replace(tom, name="Tom " + p["css"]))
        run_audit(reg, AuditOptions(offline=True), now=NOW)
        stale = next(f for f in ledger(load_runs(reg)) if f.check_id == "escrow.stale")
        waive(
            reg, finding_id(stale.fingerprint), p["img"] + " " + p["dde"], date(2030, 9, 1), today=NOW.date()
        )
        Escrow(reg).reveal(accounts["x:naperville203"].id, p["dde"] + " " + p["script"])
    finally:
        reg.close()
    return p
