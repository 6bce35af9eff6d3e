"""`make screenshots` (scripts/screenshots.py) keeps working, and the README shows only
screenshots that it makes."""

from __future__ import annotations

import importlib.util
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "screenshots.py"


def script():
    spec = importlib.util.spec_from_file_location("screenshots", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expected_names() -> set[str]:
    module = script()
    return set(module.PAGES) | {f"{name}-phone" for name in module.PHONE}


def size(png: Path) -> tuple[int, int]:
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", png
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_the_readme_shows_screenshots_the_script_makes():
    shown = set(re.findall(r"docs/screenshots/([\w-]+)\.png", (ROOT / "README.md").read_text()))
    assert shown
    assert shown <= expected_names()
    assert {p.stem for p in (ROOT / "docs" / "screenshots").glob("*.png")} == expected_names()


@pytest.mark.browser
@pytest.mark.slow
def test_the_script_saves_every_page(tmp_path):
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path), "--conversations", "3000"],
        check=True,
        timeout=600,
    )
    saved = {p.stem: size(p) for p in tmp_path.glob("*.png")}
    assert set(saved) == expected_names()
    for name, (width, height) in saved.items():
        assert width == (375 if name.endswith("-phone") else 1280), name
        assert 800 <= height <= 2000, name
