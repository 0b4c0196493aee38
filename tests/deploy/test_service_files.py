"""The deployment files are what systemd accepts: `systemd-analyze verify` on the unit in deploy/,
with its ExecStart pointed at this installation's `intercept-bot` (systemd checks that it exists and
runs), and no warning at all (an unknown key is only a warning to systemd, and would be ignored)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "intercept-bot.service"
INSTALLED = "/opt/intercept-bot/bin/intercept-bot"


def test_the_systemd_unit_verifies_without_a_warning(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: install Debian's systemd package", pytrace=False)
    script = Path(sys.executable).parent / "intercept-bot"
    assert script.exists(), "the project is not installed in this environment"
    text = UNIT.read_text()
    assert f"ExecStart={INSTALLED} serve" in text
    unit = tmp_path / UNIT.name
    unit.write_text(text.replace(INSTALLED, str(script)))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and (done.stdout + done.stderr).strip() == "", done.stdout + done.stderr


def test_a_unit_systemd_would_half_ignore_is_caught(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key is reported."""
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(INSTALLED, str(Path(sys.executable).parent / "intercept-bot"))
                    .replace("Restart=on-failure", "Restrat=on-failure"))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert "Restrat" in done.stdout + done.stderr
