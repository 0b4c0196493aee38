"""What operators are told: one finding per check (`intercept-bot check` prints them as lines,
`GET /readyz` reports some of them), and the database-schema check that both use."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine


@dataclass(frozen=True)
class Finding:
    """One check: passed (True), failed (False) or not made (None, with a note why)."""

    ok: bool | None
    what: str
    detail: str
    fix: str = ""  # what to do about a failure

    def line(self) -> str:
        word = {True: "ok", False: "FAIL", None: "skip"}[self.ok]
        text = f"{word:<6}{self.what}: {self.detail}"
        return f"{text} — {self.fix}" if self.fix and self.ok is False else text


def schema_state(engine: Engine) -> Finding:
    """Whether the database schema is the one this version needs (migrated)."""
    from bot.adapters.store import migrate

    try:
        found = migrate.state(engine)
    except migrate.DatabaseUnavailable as error:
        return Finding(False, "database schema", str(error))
    if found.at_head:
        return Finding(True, "database schema", f"revision {found.describe()}, this version's")
    if found.empty:
        return Finding(None, "database schema", f"empty: `serve` creates it at revision {found.head}")
    return Finding(False, "database schema", found.refusal() or found.describe(), "run `intercept-bot db upgrade`"
                   if not found.ahead else "run the newer version, or restore a backup")
