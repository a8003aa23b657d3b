"""Installing the project on a fresh machine (what `make run` does first) prints no warning of the project's own:
no deprecated `project.license` table, no notice about the editable layout."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_editable_install_prints_no_warning_of_the_project(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True, capture_output=True, timeout=300)  # as make does
    r = subprocess.run(
        [*pip, "install", "--quiet", "--no-deps", "-e", str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr
    # pip's own notes about this machine's package index configuration are not the project's
    lines = [line for line in (r.stdout + r.stderr).splitlines() if line.strip() and "Location 'file:" not in line]
    assert not lines, "\n".join(lines)
