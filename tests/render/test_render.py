"""Every golden card in Microsoft's own Adaptive Cards renderer (npm `adaptivecards`) in headless Chromium.

The schema test says a card is well-formed 1.3; this one says what a real renderer makes of it: that
it knows every element and property, shows exactly the card's inputs, and that what it submits when
a person fills the form and clicks is what `bot.domain.form.read_submission` accepts. `render.mjs`
does the browser part; its screenshots land in docs/cards/ with UPDATE_CARD_SCREENSHOTS=1.

Needs Debian's `chromium` (/usr/bin/chromium, or CHROMIUM_PATH) and the npm packages (`npm ci`):
without them these tests fail, they do not skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain import form
from bot.domain.form import Submission, read_submission
from cards.golden import CURRENT, NOW, golden_cards

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("render.mjs")
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
NPM_PACKAGES = ("adaptivecards", "markdown-it", "playwright-core")
DOCS = ROOT / "docs" / "cards"
BERLIN = ZoneInfo("Europe/Berlin")
SEND, CANCEL = "Send for approval", "Cancel"
TOGGLES = (form.VOICEMAIL, form.NEW_NUMBER_ENABLED, form.ZERO_TRANSFER_ENABLED, form.OUTGOING_TRANSFER)
# parse events that mean the renderer met something it does not know in 1.3
UNKNOWN_EVENTS = {"UnknownElementType", "UnknownActionType", "UnsupportedProperty", "UnknownProperty"}
REASON = "Parental leave; calls go to the team line"

# what render.mjs does to the cards, step by step (see its header for the step kinds)
SCENARIOS: list[dict[str, Any]] = [
    {"name": "form-unchanged", "card": "form-prefilled", "steps": [{"click": SEND}]},
    {"name": "form-changed", "card": "form-prefilled", "steps": [
        {"toggle": [form.OUTGOING_TRANSFER, True]},
        {"fill": [form.OUTGOING_DESTINATION, "+1 415 555 0100"]},
        {"choose": [form.OUTGOING_TYPE, "ALLOW_LOCAL_ONLY"]},
        {"fill": [form.UNTIL_TIME, "18:30"]},
        {"fill": [form.REASON, REASON]},
        {"click": SEND},
    ]},
    {"name": "form-destination-empty", "card": "form-prefilled", "steps": [
        {"toggle": [form.OUTGOING_TRANSFER, True]},
        {"click": SEND},
    ]},
    {"name": "form-destination-words", "card": "form-prefilled", "steps": [
        {"toggle": [form.OUTGOING_TRANSFER, True]},
        {"fill": [form.OUTGOING_DESTINATION, "call Bob"]},
        {"click": SEND},
    ]},
    {"name": "form-cancel", "card": "form-prefilled", "steps": [
        {"fill": [form.UNTIL_DATE, ""]},
        {"click": SEND},
        {"click": CANCEL},
    ]},
    {"name": "approval-approve", "card": "approval", "steps": [
        {"fill": ["comment", "Enjoy the time off"]},
        {"click": "Approve"},
    ]},
    {"name": "approval-reject", "card": "approval", "steps": [{"click": "Reject"}]},
    {"name": "reminder-extend", "card": "reminder", "steps": [
        {"fill": [form.UNTIL_DATE, "2026-12-07"]},
        {"fill": [form.UNTIL_TIME, "09:00"]},
        {"click": "Extend"},
        {"click": "End now"},
    ]},
]


def missing_prerequisite() -> str:
    """What to install before these tests can run, in one line; "" when all is there."""
    if shutil.which("node") is None:
        return "node is missing: install Node.js 20 or later (apt-get install nodejs npm)"
    if not CHROMIUM.exists():
        return f"Chromium is missing at {CHROMIUM}: run `apt-get install chromium`"
    for package in NPM_PACKAGES:
        if not (ROOT / "node_modules" / package / "package.json").exists():
            return f"node_modules/{package} is missing: run `npm ci` (or `make setup`)"
    return ""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """render.mjs's results for the golden cards and SCENARIOS (one Chromium for all)."""
    problem = missing_prerequisite()
    if problem:
        pytest.fail(problem, pytrace=False)
    base = tmp_path_factory.mktemp("render")
    cards_dir, out = base / "cards", base / "out"
    cards_dir.mkdir()
    for name, content in golden_cards().items():
        (cards_dir / f"{name}.json").write_text(json.dumps(content, ensure_ascii=False))
    scenarios = base / "scenarios.json"
    scenarios.write_text(json.dumps(SCENARIOS))
    try:
        run = subprocess.run(["node", str(SCRIPT), str(cards_dir), str(out), str(scenarios)], cwd=ROOT,
                             capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("render.mjs took over 120 s (is Chromium hanging? try it by hand)", pytrace=False)
    if run.returncode != 0:
        last = (run.stderr.strip() or run.stdout.strip() or "no output").splitlines()[-1]
        pytest.fail(f"render.mjs failed (exit {run.returncode}): {last}", pytrace=False)
    results: dict[str, Any] = json.loads((out / "results.json").read_text())
    return results


def test_renderer_prerequisites_are_installed() -> None:
    problem = missing_prerequisite()
    assert not problem, problem


# ---------------------------------------------------------------- every card, as the renderer sees it


def walk(node: Any) -> list[dict[str, Any]]:
    """Every JSON object in the card, in document order."""
    if isinstance(node, dict):
        return [node, *(found for value in node.values() for found in walk(value))]
    if isinstance(node, list):
        return [found for value in node for found in walk(value)]
    return []


def input_ids(card: dict[str, Any]) -> list[str]:
    return [obj["id"] for obj in walk(card) if str(obj.get("type", "")).startswith("Input.")]


def action_titles(card: dict[str, Any]) -> list[str]:
    return [obj["title"] for obj in walk(card) if str(obj.get("type", "")).startswith("Action.")]


def test_the_renderer_saw_every_golden_card(rendered: dict[str, Any]) -> None:
    assert sorted(rendered["cards"]) == sorted(golden_cards())
    assert rendered["versions"]["adaptivecards"].startswith("3.")


@pytest.mark.parametrize("name", sorted(golden_cards()))
def test_card_renders_with_nothing_unknown(rendered: dict[str, Any], name: str) -> None:
    card, result = golden_cards()[name], rendered["cards"][name]
    assert result["rendered"]
    assert result["errors"] == []
    assert [w for w in result["warnings"] if w["event"] in UNKNOWN_EVENTS] == []
    assert result["pageErrors"] == []
    assert [i["id"] for i in result["inputs"]] == input_ids(card)
    assert [a["title"] for a in result["actions"]] == action_titles(card)
    assert Path(result["screenshot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_screenshots_for_the_readme(rendered: dict[str, Any]) -> None:
    """UPDATE_CARD_SCREENSHOTS=1 copies the screenshots to docs/cards/<name>.png."""
    shots = {name: Path(result["screenshot"]) for name, result in rendered["cards"].items()}
    assert all(shot.stat().st_size > 1000 for shot in shots.values())
    if os.environ.get("UPDATE_CARD_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        for name, shot in shots.items():
            shutil.copyfile(shot, DOCS / f"{name}.png")


# ---------------------------------------------------------------- what a click submits


def clicks(rendered: dict[str, Any], scenario: str) -> list[dict[str, Any]]:
    """The click steps of a scenario, each with what it submitted and the inputs marked invalid."""
    outcome = rendered["scenarios"][scenario]
    assert outcome["error"] is None, outcome["error"]
    assert outcome["pageErrors"] == []
    return [step for step in outcome["steps"] if "click" in step]


def submitted(click: dict[str, Any]) -> dict[str, Any]:
    """The data of the one Action.Submit that the click executed."""
    assert [s["type"] for s in click["submissions"]] == ["Action.Submit"], click
    data: dict[str, Any] = click["submissions"][0]["data"]
    return data


def check(data: dict[str, Any]) -> Submission:
    """The bot's own reading of a submission (Webex hands the bot the data as the renderer made it)."""
    return read_submission(data, now=NOW, zone=BERLIN, max_days=30, current=CURRENT)


def test_unchanged_prefilled_form_submits_what_the_server_accepts(rendered: dict[str, Any]) -> None:
    [click] = clicks(rendered, "form-unchanged")
    data = submitted(click)
    card = golden_cards()["form-prefilled"]
    assert data["intent"] == "submit"
    # every input the card fills comes back as it was; empty ones are left out of the data entirely
    prefilled = {obj["id"]: obj["value"] for obj in walk(card)
                 if str(obj.get("type", "")).startswith("Input.") and obj.get("value")}
    assert {k: v for k, v in data.items() if k != "intent"} == prefilled
    assert {data[toggle] for toggle in TOGGLES} <= {"true", "false"}
    assert all(data[toggle] == prefilled[toggle] for toggle in TOGGLES)
    assert (data[form.UNTIL_DATE], data[form.UNTIL_TIME]) == ("2026-12-04", "23:59")

    submission = check(data)
    assert submission.errors == {}
    assert submission.valid is not None
    assert submission.valid.settings == CURRENT.with_enabled(True)
    assert submission.valid.start_at is None
    assert submission.valid.end_at == datetime(2026, 12, 4, 23, 59, tzinfo=BERLIN).astimezone(UTC)


def test_changed_form_submits_the_changes(rendered: dict[str, Any]) -> None:
    [click] = clicks(rendered, "form-changed")
    data = submitted(click)
    assert data["intent"] == "submit"
    assert data[form.OUTGOING_TRANSFER] == "true"
    assert data[form.OUTGOING_DESTINATION] == "+1 415 555 0100"  # as typed: the server normalises it
    assert data[form.UNTIL_TIME] == "18:30"

    submission = check(data)
    assert submission.errors == {}
    assert submission.valid is not None
    assert submission.valid.settings == replace(
        CURRENT.with_enabled(True), outgoing_type="ALLOW_LOCAL_ONLY", outgoing_transfer_enabled=True,
        outgoing_destination="+14155550100")
    assert submission.valid.end_at == datetime(2026, 12, 4, 18, 30, tzinfo=BERLIN).astimezone(UTC)
    assert submission.valid.reason == REASON


def test_empty_destination_with_its_toggle_on_is_caught_by_the_server(rendered: dict[str, Any]) -> None:
    # The renderer lets this through: the destination is not isRequired (it is only required while its
    # toggle is on, which 1.3 cannot express) and its regex accepts an empty value. So it submits the
    # toggle on and no destination at all, and the server's check is what refuses it.
    [click] = clicks(rendered, "form-destination-empty")
    data = submitted(click)
    assert data[form.OUTGOING_TRANSFER] == "true"
    assert form.OUTGOING_DESTINATION not in data
    submission = check(data)
    assert submission.valid is None
    assert set(submission.errors) == {form.OUTGOING_DESTINATION}
    assert submission.errors[form.OUTGOING_DESTINATION].startswith("Required while this option is on.")


def test_destination_in_words_is_stopped_by_the_renderer(rendered: dict[str, Any]) -> None:
    # the card's loose regex is a courtesy check the renderer does run: nothing is submitted, the input is marked
    [click] = clicks(rendered, "form-destination-words")
    assert click["submissions"] == []
    assert click["invalidInputs"] == [form.OUTGOING_DESTINATION]


def test_cancel_needs_no_inputs(rendered: dict[str, Any]) -> None:
    send, cancel = clicks(rendered, "form-cancel")
    # with the required end date cleared, the renderer refuses to send the form ...
    assert send["submissions"] == []
    assert send["invalidInputs"] == [form.UNTIL_DATE]
    # ... but Cancel (associatedInputs: none) goes through, with its own data only
    assert submitted(cancel) == {"intent": "cancel"}


def test_approval_buttons_submit_intent_and_comment(rendered: dict[str, Any]) -> None:
    [approve] = clicks(rendered, "approval-approve")
    assert submitted(approve) == {"intent": "approve", "comment": "Enjoy the time off"}
    [reject] = clicks(rendered, "approval-reject")
    assert submitted(reject) == {"intent": "reject"}  # an empty comment is left out


def test_reminder_extend_submits_the_new_end(rendered: dict[str, Any]) -> None:
    extend, end_now = clicks(rendered, "reminder-extend")
    assert submitted(extend) == {"intent": "extend", form.UNTIL_DATE: "2026-12-07", form.UNTIL_TIME: "09:00"}
    assert submitted(end_now) == {"intent": "end"}
