"""A new sampling strategy is one file and one registry line: CONTRIBUTING.md's example, added to a
copy of the app, reaches the command line, config.json, the views and the Train page without another edit."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import REPO


def _contributing_example() -> tuple[str, str, str]:
    """(the strategy file, the registry line, the class name) as CONTRIBUTING.md gives them."""
    text = (REPO / "CONTRIBUTING.md").read_text()
    section = text.split("## Adding a sampling strategy", 1)[1].split("\n## ", 1)[0]
    code = textwrap.dedent(re.search(r"```python\n(.*?)```", section, re.S).group(1))
    entry = re.search(r'`("\w+": \w+,)`', section).group(1)
    name = re.search(r"^class (\w+)\(Strategy\)", code, re.M).group(1)
    return code, entry, name


def _copy_with_plugin(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    for part in ("muser_core", "analysis", "ui", "pages"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "app.py", root / "app.py")
    (root / "data").symlink_to(REPO / "data")   # the shipped demo data and lexicon, read only
    code, entry, name = _contributing_example()
    (root / "muser_core" / "strategies" / "lossmax.py").write_text(code)
    registry = root / "muser_core" / "strategies" / "registry.py"
    text = registry.read_text()
    text = text.replace("\nSTRATEGIES: dict", f"from muser_core.strategies.lossmax import {name}\n\nSTRATEGIES: dict", 1)
    text = text.replace('    "speed": SpeedBasedSampler,\n', f'    "speed": SpeedBasedSampler,\n    {entry}\n', 1)
    registry.write_text(text)
    return root


CHECK = r'''
import json, sys
from dataclasses import replace
from streamlit.testing.v1 import AppTest
from muser_core.config import RunConfig, StrategyConfig
from muser_core.strategies import STRATEGIES, TrainingState, make_strategy
from muser_core.train.cli import command_line
from muser_core.cli import run_command

main = run_command("train")

out = {"registered": list(STRATEGIES)}
cfg = replace(RunConfig(), strategy=StrategyConfig(name="lossmax", sharpness=0.5)).resolved()
out["config"] = json.loads(cfg.to_json())["strategy"]
strategy = make_strategy(cfg.strategy)
state = TrainingState(epochs_done=1, tasks=("stress", "activation"), loss_history=({"stress": 1.0, "activation": 2.0},))
out["probabilities"] = strategy.probabilities(state)
out["command"] = command_line(cfg, "runs/x")
try:
    main(["--help"])
except SystemExit:
    pass
at = AppTest.from_file("pages/3_Train.py", default_timeout=60).run()
out["page_options"] = list(at.selectbox(key="train-strategy").options)
at.selectbox(key="train-strategy").set_value("lossmax").run()
out["page_widget"] = [n.label for n in at.number_input if n.key == "train-sharpness"]
out["page_errors"] = [e.value for e in at.exception] + [e.value for e in at.error]
print("RESULT " + json.dumps(out))
'''


def test_the_contributing_example_strategy_is_one_file_and_one_registry_line(tmp_path):
    root = _copy_with_plugin(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(root), "MUSER_RUNS_DIR": str(tmp_path / "runs"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", CHECK], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.split("RESULT ", 1)[1])
    assert result["registered"][-1] == "lossmax"
    assert result["config"]["name"] == "lossmax" and result["config"]["sharpness"] == 0.5
    # softmax(loss / 0.5) over the last epoch's losses 1 and 2, by hand:
    import math
    e1, e2 = math.exp(1 / 0.5), math.exp(2 / 0.5)
    assert abs(result["probabilities"]["stress"] - e1 / (e1 + e2)) < 1e-12
    assert "--strategy lossmax" in result["command"] and "--sharpness 0.5" in result["command"]
    assert "--sharpness" in proc.stdout and "lossmax" in proc.stdout   # the command line's --help
    assert "lossmax" in result["page_options"] and result["page_widget"] == ["Sharpness"]
    assert result["page_errors"] == []


def test_the_copy_without_the_plugin_has_no_such_strategy(tmp_path):
    """The check above can fail: the same script on an unchanged copy does not find the strategy."""
    root = tmp_path / "plain"
    shutil.copytree(REPO / "muser_core", root / "muser_core", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run([sys.executable, "-c", "from muser_core.strategies import STRATEGIES; "
                           "print('lossmax' in STRATEGIES)"], cwd=root, env=env, capture_output=True, text=True)
    assert proc.stdout.strip() == "False", proc.stderr
