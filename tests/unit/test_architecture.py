"""The shape the code keeps: the domain imports no adapter, modules and functions stay small, and
every command and card has exactly one route (the help card is drawn from the same table)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from bot.domain.commands import Kind, parse_command
from bot.domain.routing import CARDS, COMMANDS, help_lines
from bot.domain.values import CardKind
from cards.golden import golden_cards

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = ("flask", "requests", "sqlalchemy", "apscheduler", "webexpythonsdk", "waitress", "werkzeug")
MODULE_LINES = 400
FUNCTION_LINES = 50
EXEMPT = {"bot/domain/timeparse.py"}  # the time parser: one grammar, kept in one place


def test_the_domain_imports_no_adapter_in_a_fresh_interpreter() -> None:
    script = (
        "import importlib, json, pkgutil, sys\n"
        "import bot.domain\n"
        "for module in pkgutil.walk_packages(bot.domain.__path__, 'bot.domain.'):\n"
        "    importlib.import_module(module.name)\n"
        f"print(json.dumps(sorted({{name.split('.')[0] for name in sys.modules}} & set({list(ADAPTERS)!r}))))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def _sources() -> list[Path]:
    return sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("cards/**/*.py")])


def test_no_module_is_long() -> None:
    long = {str(p.relative_to(ROOT)): n for p in _sources()
            if (n := len(p.read_text().splitlines())) > MODULE_LINES and str(p.relative_to(ROOT)) not in EXEMPT}
    assert long == {}


def test_no_function_is_long() -> None:
    long = {}
    for path in _sources():
        if str(path.relative_to(ROOT)) in EXEMPT:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
                lines = node.end_lineno - node.lineno + 1
                if lines > FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = lines
    assert long == {}


def test_every_command_and_every_card_has_one_route() -> None:
    kinds = [command.kind for command in COMMANDS]
    assert sorted(kinds) == sorted(Kind) and len(kinds) == len(set(kinds))
    assert set(CARDS) == set(CardKind)
    assert parse_command("intercept me until Friday").kind in kinds


def test_the_help_card_is_drawn_from_the_command_table() -> None:
    everyone = [line.example for line in help_lines(approver=False)]
    approver = [line.example for line in help_lines(approver=True)]
    assert everyone == ["intercept me until Friday", "status", "extend until Monday 9am", "cancel"]
    assert approver == [*everyone, "pending", "active"]
    shown = json.dumps(golden_cards()["help"])
    assert all(example in shown for example in approver)
    for example in approver:  # what the help card offers, the parser understands
        assert parse_command(example).kind in {c.kind for c in COMMANDS if c.help and c.help.example == example}
