"""What a wheel ships: every package, every migration and every message template.

pyproject.toml lists the packages instead of finding them, because the top-level ``templates/``
directory is shipped inside the bot package (``bot/templates``). A package added on disk but not
to that list would be missing from a non-editable install; these tests catch it without building.
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path
from typing import Any

from bot import rendering

ROOT = Path(__file__).resolve().parent.parent


def _setuptools() -> dict[str, Any]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    found: dict[str, Any] = config["tool"]["setuptools"]
    return found


def _folder(package: str, setup: dict[str, Any]) -> Path:
    mapped = setup.get("package-dir", {}).get(package)
    return ROOT / mapped if mapped else ROOT.joinpath(*package.split("."))


def test_every_python_folder_is_a_listed_package() -> None:
    on_disk = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for top in ("kpi", "bot")
        for path in (ROOT / top).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    listed = set(_setuptools()["packages"])
    assert on_disk <= listed, f"add to pyproject.toml's packages: {sorted(on_disk - listed)}"
    setup = _setuptools()
    assert all(_folder(package, setup).is_dir() for package in listed)


def test_every_non_python_file_of_a_package_is_package_data() -> None:
    setup = _setuptools()
    data: dict[str, list[str]] = setup["package-data"]
    for package in setup["packages"]:
        folder = _folder(package, setup)
        for path in folder.iterdir():
            if path.is_file() and path.suffix not in {".py", ".pyc"}:
                patterns = data.get(package, [])
                assert any(fnmatch.fnmatch(path.name, p) for p in patterns), (package, path.name)


def test_templates_are_shipped_as_bot_templates() -> None:
    setup = _setuptools()
    assert setup["package-dir"]["bot.templates"] == "templates"
    assert rendering.DEFAULT_TEMPLATES == ROOT / "templates"  # a checkout reads them in place
    assert sorted(p.name for p in rendering.DEFAULT_TEMPLATES.glob("*.j2"))
