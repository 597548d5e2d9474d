"""The built wheel installs one import name, `salespulse`, and its CLI runs in a fresh environment."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _build_wheel(out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("salespulse-*.whl")
    return wheel


def test_wheel_installs_only_the_salespulse_package(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"salespulse"}
    # The folders kept at the top of the tree arrive as sub-packages, as real files.
    for package in ("models", "streams", "exporters", "dashboards"):
        assert f"salespulse/{package}/__init__.py" in names
    # The web pages' templates, style sheet and catalogues are data files beside the code.
    for data in ("web/templates/base.html", "web/templates/tv.html", "web/templates/tv_board.html",
                 "web/static/style.css", "web/static/tv.css", "web/static/tv.js", "web/locale/nl/LC_MESSAGES/messages.po"):
        assert f"salespulse/{data}" in names

    env = tmp_path / "env"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", str(wheel)], check=True)
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    installed = {path.name for path in Path(site).iterdir() if (path / "__init__.py").exists()}
    assert "salespulse" in installed
    assert not installed & {"models", "streams", "exporters", "dashboards"}

    # Run from an empty folder so that the source tree cannot be imported by accident.
    help_text = subprocess.run(
        [env / "bin" / "salespulse", "worker", "--help"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout
    assert "usage: salespulse worker" in help_text
    where = subprocess.run(
        [python, "-c", "import salespulse.streams.topics as t; print(t.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout
    assert where.startswith(site)
