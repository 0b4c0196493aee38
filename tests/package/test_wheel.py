"""`pip install intercept-bot` works away from the repository.

A wheel is built from this checkout (setup.py's build step copies the sandbox page's renderer from
node_modules into it), installed with pip into a folder outside the repository that is put in
front of this virtualenv's packages (its dependencies come from there: no index is asked), and
`intercept-bot demo` is started from yet another folder. The page and the renderer are fetched over
HTTP, and Python's own import trace (-v) shows that `bot` came from the installed copy.

Needs the npm packages (`npm ci`, as `make setup` runs it): the build copies them.
"""

from __future__ import annotations

import email.parser
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from webex_emulator.sandbox import VENDOR

ROOT = Path(__file__).resolve().parents[2]
URL_LINE = re.compile(r"^intercept-bot demo: open (http://127\.0\.0\.1:\d+/sandbox/) ")
BOT_SETTINGS = ("WEBEX_", "INTERCEPT_", "DATABASE_URL", "PYTHON")


def pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", *args],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for package, file in VENDOR.values():
        if not (ROOT / "node_modules" / package / file).is_file():
            pytest.fail(f"node_modules/{package}/{file} is missing: run `npm ci` (or `make setup`)", pytrace=False)
    out = tmp_path_factory.mktemp("wheel")
    # the build tools of this virtualenv (the test extra's setuptools): no index needed
    pip("wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(out), str(ROOT))
    [built] = out.glob("intercept_bot-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site-packages")
    pip("install", "--no-deps", "--no-index", "--target", str(target), str(wheel))
    return target


def environment(*front: Path) -> dict[str, str]:
    """This environment without the bot's settings, with `front` first on the import path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(BOT_SETTINGS)}
    return {**env, "PYTHONPATH": os.pathsep.join(str(path) for path in front)}


def test_the_wheel_carries_the_renderer_and_declares_only_what_the_bot_needs(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for package, file in VENDOR.values():
            copied = f"webex_emulator/sandbox/vendor/{package}/{file}"
            assert archive.read(copied) == (ROOT / "node_modules" / package / file).read_bytes()
            assert f"webex_emulator/sandbox/vendor/{package}/LICENSE" in names
        [metadata] = [name for name in names if name.endswith(".dist-info/METADATA")]
        headers = email.parser.Parser().parsestr(archive.read(metadata).decode("utf-8"), headersonly=True)
    requires = headers.get_all("Requires-Dist") or []
    always = {re.split(r"[<>=\[; ]", line)[0].lower() for line in requires if "extra ==" not in line}
    assert always == {"webexpythonsdk", "requests", "flask", "apscheduler", "sqlalchemy", "alembic", "waitress",
                      "python-dotenv", "tzdata", "prometheus-client", "python-json-logger"}
    sandbox = {re.split(r"[<>=; ]", line)[0] for line in requires if 'extra == "sandbox"' in line}
    assert sandbox == {"jsonschema", "referencing"}
    assert not (ROOT / "webex_emulator" / "sandbox" / "vendor").exists()  # the checkout holds no copy


@pytest.fixture
def demo(installed: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    """`intercept-bot demo --port 0` as pip installed it, started in an empty folder; (process, the
    page's URL, the file holding its stderr with the import trace)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    trace = tmp_path / "stderr.txt"
    with trace.open("w") as stderr:
        command = [sys.executable, "-v", str(installed / "bin" / "intercept-bot"), "demo", "--port", "0"]
        process = subprocess.Popen(command, cwd=elsewhere, env=environment(installed), stdout=subprocess.PIPE,
                                   stderr=stderr, text=True)
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or ()], daemon=True).start()
    try:
        first = lines.get(timeout=60)
        match = URL_LINE.match(first)
        assert match, f"{first!r}; stderr ends: {trace.read_text()[-2000:]}"
        yield process, match.group(1), trace
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    assert list(elsewhere.iterdir()) == []  # nothing left in the folder it ran in


def fetch(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


def test_the_installed_demo_serves_the_page_and_the_renderer_from_anywhere(
        demo: tuple[subprocess.Popen[str], str, Path], installed: Path) -> None:
    process, url, trace = demo
    status, kind, page = fetch(url)
    assert status == 200 and kind.startswith("text/html") and b"vendor/adaptivecards.min.js" in page
    for name, (package, file) in VENDOR.items():
        status, kind, body = fetch(url + "vendor/" + name)
        assert status == 200 and body == (ROOT / "node_modules" / package / file).read_bytes(), name
        assert kind.startswith("text/css" if name.endswith(".css") else "text/javascript")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    imports = trace.read_text(errors="replace")
    for package in ("bot", "webex_emulator"):  # python -v names the file each module was loaded from
        assert f"{installed / package / '__init__.py'}" in imports
        assert f"{ROOT / package}{os.sep}" not in imports


def test_the_demo_without_the_sandbox_extra_says_what_to_install(installed: Path, tmp_path: Path) -> None:
    missing = tmp_path / "without-extra" / "jsonschema"  # as if jsonschema were not installed
    missing.mkdir(parents=True)
    (missing / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'jsonschema'\", name='jsonschema')\n")
    done = subprocess.run([sys.executable, str(installed / "bin" / "intercept-bot"), "demo", "--port", "0"],
                          cwd=tmp_path, env=environment(missing.parent, installed), capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("intercept-bot demo: jsonschema is not installed: the sandbox needs "
                           "pip install 'intercept-bot[sandbox]'\n")
