"""The docs as a newcomer uses them: the Python API page runs as written, every link resolves, every
`muser` command in them parses, and no file tells the project's history instead of its behaviour."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from muser_core.base.paths import CHECKOUT
from muser_core.cli import command_parser

pytestmark = pytest.mark.skipif(CHECKOUT is None, reason="reads the checkout's docs")
DOCS = sorted([CHECKOUT / "README.md", *(CHECKOUT / "docs").glob("*.md")]) if CHECKOUT else []


def python_blocks(page: Path) -> str:
    """The page's ```python blocks, joined in order: one script."""
    return "\n".join(re.findall(r"```python\n(.*?)```", page.read_text(), re.S))


def commands(page: Path) -> list[str]:
    """Every `muser ...` command in the page's shell blocks (continuation lines joined)."""
    found = []
    for block in re.findall(r"```(?:bash|sh|shell|console)?\n(.*?)```", page.read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("muser "):
                found.append(line.split(" #")[0])
    return found


@pytest.mark.slow
def test_the_python_api_page_runs_as_written_from_another_folder(tmp_path):
    script = tmp_path / "api.py"
    script.write_text(python_blocks(CHECKOUT / "docs" / "python-api.md"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSER_")}
    env.update(PYTHONPATH=str(CHECKOUT), MUSER_CACHE_DIR=str(tmp_path / "cache"), HF_HUB_OFFLINE="1")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SYNTHETIC demo data" in done.stdout and "'accuracy'" in done.stdout
    assert (tmp_path / "runs" / "api-first" / "test.json").is_file()  # relative to the folder it ran in


def test_every_relative_link_in_the_docs_resolves():
    broken = []
    for page in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            if not path.exists():
                broken.append(f"{page.relative_to(CHECKOUT)}: {target}")
    assert broken == []


def test_every_muser_command_in_the_docs_parses():
    bad = []
    found = 0
    for page in DOCS:
        for line in commands(page):
            words = shlex.split(line)[1:]
            path = [w for w in words[:2] if not w.startswith("-")]
            try:
                parser, command = command_parser(path)
                rest = words[len(path):]
                parser.parse_known_args(rest) if command.passes_unknown else parser.parse_args(rest)
                found += 1
            except (ValueError, SystemExit) as exc:
                bad.append(f"{page.relative_to(CHECKOUT)}: {line}: {exc}")
    assert bad == [] and found >= 10


def test_no_tracked_file_cites_an_issue_number():
    hits = subprocess.run(["git", "grep", "-niE", r"issue ?#?[0-9]+"], cwd=CHECKOUT, capture_output=True,
                          text=True).stdout.splitlines()
    assert hits == []


def test_the_readme_is_an_introduction_not_a_manual():
    readme = (CHECKOUT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert readme.index("make run") < readme.index("make test") < 1500  # the two set-up commands first
