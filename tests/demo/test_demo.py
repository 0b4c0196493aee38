"""The demo (`python -m bot.demo`) in headless Chromium, used the way a person would use it.

The demo runs as a subprocess, as `make run` starts it without Webex credentials; `demo.mjs` drives
its sandbox page: Alice asks for an intercept and sends the form, Bob approves on his card, the side
panel shows Alice's intercept on, "Make the end due now" brings the revert and the panel shows her
settings back. Its screenshots land in the test's temporary folder, and in docs/demo/ with
UPDATE_DEMO_SCREENSHOTS=1.

Needs Debian's `chromium` (/usr/bin/chromium, or CHROMIUM_PATH) and the npm packages (`npm ci`):
without them this test fails, it does not skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("demo.mjs")
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
NPM_PACKAGES = ("adaptivecards", "markdown-it", "playwright-core")
DOCS = ROOT / "docs" / "demo"
URL_LINE = re.compile(r"^intercept-bot demo: open (http://127\.0\.0\.1:\d+/sandbox/) \(Ctrl-C stops it; log: .+\)$")
SHOTS = ["01-alice-form.png", "02-alice-sent.png", "03-bob-approval.png", "04-alice-active.png",
         "05-alice-restored.png"]

pytestmark = pytest.mark.e2e


def missing_prerequisite() -> str:
    """What to install before this test can run, in one line; "" when all is there."""
    if shutil.which("node") is None:
        return "node is missing: install Node.js 20 or later (apt-get install nodejs npm)"
    if not CHROMIUM.exists():
        return f"Chromium is missing at {CHROMIUM}: run `apt-get install chromium`"
    for package in NPM_PACKAGES:
        if not (ROOT / "node_modules" / package / "package.json").exists():
            return f"node_modules/{package} is missing: run `npm ci` (or `make setup`)"
    return ""


class DemoProcess:
    """`python -m bot.demo --port 0` with its one line of output read."""

    def __init__(self, data: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBEX_", "INTERCEPT_", "DATABASE_URL"))}
        self.proc = subprocess.Popen([sys.executable, "-m", "bot.demo", "--port", "0", "--data", str(data)], cwd=ROOT,
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.log = data / "demo.log"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def url(self, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while not self.lines and self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self.lines:
            time.sleep(0.2)
            err = (self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr else "").strip()
            pytest.fail(f"the demo printed no URL (exit {self.proc.poll()}): {err or 'still starting'}", pytrace=False)
        found = URL_LINE.match(self.lines[0])
        assert found, self.lines[0]
        return found.group(1)

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
                return None
        self._reader.join(5)
        return self.proc.returncode


@contextmanager
def running_demo(data: Path) -> Iterator[DemoProcess]:
    running = DemoProcess(data)
    try:
        yield running
    finally:
        if running.stop() is None:
            print(running.log.read_text(errors="replace")[-4000:] if running.log.exists() else "no log")


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # our own loopback server
        return json.loads(response.read())


def test_a_request_from_chat_to_revert_in_the_browser(tmp_path: Path) -> None:
    problem = missing_prerequisite()
    if problem:
        pytest.fail(problem, pytrace=False)
    with running_demo(tmp_path / "data") as demo:
        story(demo, tmp_path)


def story(demo: DemoProcess, tmp_path: Path) -> None:
    url = demo.url()
    shots = tmp_path / "shots"
    started = time.monotonic()
    try:
        run = subprocess.run(["node", str(SCRIPT), url, str(shots)], cwd=ROOT, capture_output=True, text=True,
                             timeout=300, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("demo.mjs took over 300 s (is Chromium hanging? try it by hand)", pytrace=False)
    print(f"the browser story took {time.monotonic() - started:.0f} s")
    if run.returncode == 2:
        pytest.fail(f"demo.mjs could not run: {run.stderr.strip().splitlines()[-1]}", pytrace=False)
    results: dict[str, Any] = json.loads((shots / "results.json").read_text())
    assert results["error"] is None, f"{results['error']} (screenshots in {shots}; steps {results['steps']})"
    assert run.returncode == 0, run.stdout + run.stderr
    assert results["pageErrors"] == []
    assert results["failedRequests"] == []

    seen = results["seen"]
    assert seen["aliceBefore"] == "false"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", seen["untilDate"])  # the form came prefilled with the end
    assert "Intercept request from Alice Adler" in seen["approvalText"]
    assert "+4930901820" in seen["approvalText"]  # what Alice chose, as the server normalised it
    assert "intercept on" in seen["aliceActive"] and "on → +4930901820" in seen["aliceActive"]
    assert "intercept off" in seen["aliceAfter"] and "new no. off" in seen["aliceAfter"]
    assert "ahead of real time" in seen["clock"]

    # what the page showed is what the emulator holds, and nobody called Webex off the spec
    people = get_json(url + "api/people")["people"]
    alice = next(p for p in people if p["email"] == "alice@example.com")
    state = get_json(url + f"api/state?person={alice['id']}")
    settings = state["intercepts"][alice["id"]]
    assert settings["enabled"] is False
    assert settings["incoming"]["announcements"]["newNumber"] == {"enabled": False, "destination": ""}
    assert state["specViolations"] == 0
    assert [r["status"] for r in state["host"]["requests"]] == ["reverted"]

    names = sorted(Path(p).name for p in results["screenshots"])
    assert names == SHOTS
    for name in names:
        assert (shots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("UPDATE_DEMO_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copyfile(shots / name, DOCS / name)

    # a clean stop on SIGTERM, and the one line was all the demo printed
    assert demo.stop() == 0
    assert len(demo.lines) == 1, demo.lines


# ---------------------------------------------------------------- the entry point, in this process


def test_run_demo_in_a_thread_stops_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.demo import run_demo, stop_demos

    for package in ("adaptivecards", "markdown-it"):  # what the page loads (no browser here)
        if not (ROOT / "node_modules" / package / "package.json").exists():
            pytest.fail(f"node_modules/{package} is missing: run `npm ci` (or `make setup`)", pytrace=False)
    outcome: list[int] = []
    thread = threading.Thread(target=lambda: outcome.append(run_demo(port=0, data_dir=str(tmp_path))), daemon=True)
    thread.start()
    deadline, printed = time.monotonic() + 60, ""
    while "open http" not in printed and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
        printed += capsys.readouterr().out
    found = URL_LINE.match(printed.strip())
    assert found, printed
    assert get_json(found.group(1) + "api/people")["bot"]["displayName"] == "Intercept Bot"
    stop_demos()
    thread.join(30)
    assert outcome == [0]
    assert (tmp_path / "demo.db").exists() and (tmp_path / "demo.log").exists()
    assert "intercept-bot is up" in (tmp_path / "demo.log").read_text()


def test_a_busy_port_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from bot.demo import run_demo

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert run_demo(port=busy.getsockname()[1]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("intercept-bot demo: cannot listen on 127.0.0.1:") and err.count("\n") == 1


def test_main_reads_port_and_data(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.demo

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(bot.demo, "run_demo", lambda **kwargs: calls.append(kwargs) or 0)
    assert bot.demo.main(["--port", "9000", "--data", "some/dir"]) == 0
    assert bot.demo.main([]) == 0
    assert calls == [{"port": 9000, "data_dir": "some/dir", "open_browser": False},
                     {"port": 8765, "data_dir": None, "open_browser": False}]
    with pytest.raises(SystemExit):
        bot.demo.main(["--port", "70000"])
