"""The one build step pyproject.toml cannot declare: a wheel carries the sandbox page's renderer files.

`intercept-bot demo` serves Microsoft's `adaptivecards` renderer and `markdown-it` to the browser
(webex_emulator/sandbox/vendor.json lists the files). The repository holds no third-party code: the
files come from the npm packages package-lock.json pins, in node_modules. Building a wheel copies
them, with each package's licence and package.json, into the built package's
webex_emulator/sandbox/vendor/ (laid out like node_modules), which bot/demo.py looks at first. If
node_modules lacks them or holds other versions than the lock, the build runs `npm ci`; without npm
it stops with one line. An editable install copies nothing: it uses the checkout's node_modules.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import FileError

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
VENDOR = HERE / "webex_emulator" / "sandbox" / "vendor.json"
TARGET = Path("webex_emulator", "sandbox", "vendor")  # in the built package (webex_emulator.sandbox.BUNDLED)


def _wanted() -> dict[str, set[str]]:
    """npm package -> the files the wheel takes from it (relative to the package)."""
    wanted: dict[str, set[str]] = {}
    for package, file in json.loads(VENDOR.read_text(encoding="utf-8")).values():
        wanted.setdefault(package, {"package.json"}).add(file)
    return wanted


def _problems() -> list[str]:
    """What is missing from node_modules, or not the version package-lock.json pins."""
    lock = json.loads((HERE / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    problems = []
    for package, files in _wanted().items():
        pinned = lock.get(f"node_modules/{package}", {}).get("version")
        folder = NODE_MODULES / package
        missing = sorted(f for f in files if not (folder / f).is_file())
        if missing:
            problems.append(f"node_modules/{package}/{missing[0]} is missing")
        elif (found := json.loads((folder / "package.json").read_text(encoding="utf-8")).get("version")) != pinned:
            problems.append(f"node_modules/{package} is version {found}, package-lock.json pins {pinned}")
    return problems


def _node_modules() -> None:
    """node_modules as package-lock.json pins it, or a FileError in one line."""
    problems = _problems()
    if not problems:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise FileError(f"{problems[0]}, and npm is not installed: install Node.js with npm (the sandbox's "
                        "renderer comes from npm packages), or run `npm ci` where it is, then build again")
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=False)  # noqa: S603 - fixed
    if done.returncode != 0:
        raise FileError(f"{problems[0]}, and `npm ci` failed (exit {done.returncode}): see its output above")
    if problems := _problems():
        raise FileError(f"{problems[0]}, even after `npm ci`")


class BuildPy(build_py):
    """build_py, plus the renderer files copied into the built package."""

    def _copies(self) -> list[tuple[Path, Path]]:
        copies = []
        for package, files in _wanted().items():
            licences = {p.name for p in (NODE_MODULES / package).glob("LICEN[CS]E*") if p.is_file()}
            for file in sorted(files | licences):
                copies.append((NODE_MODULES / package / file, Path(self.build_lib) / TARGET / package / file))
        return copies

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        _node_modules()
        for source, target in self._copies():
            self.mkpath(str(target.parent))
            self.copy_file(str(source), str(target))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if getattr(self, "editable_mode", False):
            return outputs
        return outputs + [str(target) for _source, target in self._copies()]


setup(cmdclass={"build_py": BuildPy})
