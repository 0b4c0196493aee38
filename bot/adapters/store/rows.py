"""How domain values are written into rows and read back: requests (times in UTC, settings as
API bodies, the form draft as JSON) and the detail of audit rows (with a status change's reason)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from bot.domain.model import InterceptSettings, Request, Status
from bot.domain.values import Duration, Reason

_SETTINGS_FIELDS = ("requested", "snapshot")
REQUEST_FIELDS = tuple(f.name for f in fields(Request))

MOVE_REASON = "move_reason"  # the detail key of a status change's Reason (no request field is called so)
# Rows written before reasons were stored carry only the note: read the reason back from the words
# those versions wrote (a compatibility reading for databases of earlier versions, nothing else).
_EARLIER_NOTES = {reason.text: reason for reason in Reason}


def detail_of(values: Mapping[str, Any], reason: Reason | None = None) -> dict[str, Any] | None:
    """JSON-ready detail for the audit log."""
    detail: dict[str, Any] = {}
    for key, value in values.items():
        if key in ("draft", "draft_note"):
            continue  # form drafts are noise in an audit
        if isinstance(value, InterceptSettings):
            value = value.to_stored()
        elif isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat()
        elif isinstance(value, Duration):
            value = value.to_text()
        detail[key] = value
    if reason is not None:
        detail[MOVE_REASON] = reason.value
    return detail or None


def decode_reason(detail: Any, note: str) -> Reason | None:
    stored = (json_value(detail) or {}).get(MOVE_REASON)
    try:
        return Reason(stored) if stored else _EARLIER_NOTES.get(note)
    except ValueError:
        return None


def json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def to_row(request: Request) -> dict[str, Any]:
    return to_row_partial({name: getattr(request, name) for name in REQUEST_FIELDS})


def to_row_partial(changes: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in REQUEST_FIELDS:
            raise KeyError(f"unknown request field {name}")
        if name in _SETTINGS_FIELDS:
            value = value.to_stored() if isinstance(value, InterceptSettings) else value
        elif name == "status":
            value = Status(value).value
        elif name == "draft":
            value = dict(value)
        elif name == "lasts":
            value = value.to_text() if isinstance(value, Duration) else None
        row[name] = value
    return row


def from_row(row: Mapping[Any, Any], prefix: str = "") -> Request:
    """A request from its row (its columns named with `prefix` when read joined to another table)."""
    values = {name: row[prefix + name] for name in REQUEST_FIELDS}
    values["status"] = Status(values["status"])
    for name in _SETTINGS_FIELDS:
        raw = values[name]
        if isinstance(raw, str):  # some drivers hand JSON back as text
            raw = json.loads(raw)
        values[name] = InterceptSettings.from_api(raw) if raw is not None else None
    values["draft"] = dict(values["draft"] or {})
    values["lasts"] = Duration.from_text(values["lasts"]) if values["lasts"] else None
    return Request(**values)
