"""The package as a researcher installs it: a wheel built from the tracked files, installed, used from
another folder with the source tree gone.

The wheel is installed with ``pip install --target`` into a folder of its own
(the test environment already has the dependencies), then every command runs
with only that folder on ``PYTHONPATH``, from an empty working folder, with a
fresh ``HOME``: nothing can come from the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from muser_core.base.paths import CHECKOUT
from muser_core.base.version import __version__
from muser_core.cli import COMMANDS, main
from muser_core.serve import app_settings


def _tracked_files(root: Path) -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=root,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    return [name for name in listed if (root / name).is_file()]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """{'site': the install folder, 'env': the environment to run it in, 'cwd': an empty folder}."""
    if CHECKOUT is None or not (CHECKOUT / ".git").exists():
        pytest.skip("needs the source checkout")
    base = tmp_path_factory.mktemp("package")
    source, wheels, site, cwd = base / "source", base / "wheels", base / "site", base / "elsewhere"
    for name in _tracked_files(CHECKOUT):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(CHECKOUT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    built = subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    shutil.rmtree(source)  # the source tree is gone
    [wheel] = wheels.glob("*.whl")
    done = subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MUSER_", "PYTHON", "XDG_"))}
    env.update(PYTHONPATH=str(site), HOME=str(base / "home"), HF_HUB_OFFLINE="1")
    return {"site": site, "env": env, "cwd": cwd, "wheel": wheel}


def _muser(installed: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(installed["site"] / "bin" / "muser"), *args], cwd=installed["cwd"],
                          env=installed["env"], capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_the_wheel_holds_two_top_level_names_and_the_shipped_data(installed):
    site = installed["site"]
    top = sorted(p.name for p in site.iterdir() if not p.name.endswith(".dist-info") and p.name != "bin")
    assert top == ["muser_app", "muser_core"]  # no generic `analysis` or `ui` in site-packages
    for shipped in ("_data/lexicon/muser-open.dic", "_data/demo/corpus.csv.gz", "_data/emobank/emobank.csv",
                    "_data/emobank/LICENSE", "_data/models/demo-muser/checkpoint.safetensors"):
        assert (site / "muser_core" / shipped).is_file(), shipped
    assert any((site / "muser_core" / "_runs").glob("demo-*/config.json"))
    assert (site / "muser_app" / "app.py").is_file() and (site / "muser_app" / ".streamlit" / "config.toml").is_file()
    assert not list(site.glob("muser_core/_data/studies"))  # recorded voices never travel


@pytest.mark.slow
def test_the_installed_command_works_from_another_folder(installed):
    version = _muser(installed, "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"muser {__version__}"
    helped = _muser(installed, "--help")
    assert helped.returncode == 0 and all(name in helped.stdout for name in COMMANDS)
    bad = _muser(installed, "train", "--max-epochs", "x")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and bad.stderr.startswith("error: ")

    corpus = _muser(installed, "corpus", "--emobank", "--out", "x.csv")
    assert corpus.returncode == 0, corpus.stderr
    assert (installed["cwd"] / "x.csv").is_file() and "EmoBank: 10055 utterances" in corpus.stdout

    trained = _muser(installed, "train", "--corpus", "demo", "--max-epochs", "1", "--out", "run", "--no-progress")
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert "test stress: accuracy" in trained.stdout
    env = json.loads((installed["cwd"] / "run" / "env.json").read_text())
    assert env["muser"] == __version__ and env["git_commit"] is None
    # Caches go to the per-user folder, never into the installed package.
    assert (Path(installed["env"]["HOME"]) / ".cache" / "muser").is_dir()

    clip = next((installed["site"] / "muser_core" / "_data" / "speech" / "librivox").glob("*.wav"))
    predicted = _muser(installed, "predict", "--audio", str(clip))
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    result = json.loads(predicted.stdout)
    assert 0 <= result["stress_probability"] <= 1 and result["transcript"] and result["synthetic_model"] is True


@pytest.mark.slow
def test_muser_app_serves_from_another_folder_on_localhost_with_the_projects_settings(installed):
    server = subprocess.Popen([str(installed["site"] / "bin" / "muser"), "app", "--port", "8597"],
                              cwd=installed["cwd"], env=installed["env"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:8597/_stcore/health", timeout=2) as answer:
                    assert answer.read() == b"ok"
                break
            except OSError:
                assert time.time() < deadline and server.poll() is None, server.stdout.read() if server.poll() else ""
                time.sleep(0.5)
        family = {p for p in [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]}
        listening = {c.laddr.ip for p in family for c in p.net_connections("inet") if c.status == psutil.CONN_LISTEN}
        assert listening == {"127.0.0.1"}
        streamlit = next(p for p in family if "streamlit" in " ".join(p.cmdline()))
        command = streamlit.cmdline()
        assert str(installed["site"] / "muser_app" / "app.py") in command
        flags = dict(zip(command[command.index("run") + 2::2], command[command.index("run") + 3::2], strict=False))
        assert flags["--server.maxUploadSize"] == "50" and flags["--browser.gatherUsageStats"] == "false"
        assert flags["--server.address"] == "localhost" and flags["--server.fileWatcherType"] == "none"
    finally:
        for p in [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]:
            p.kill()
        server.wait(timeout=30)


def test_the_app_settings_come_from_the_projects_streamlit_config():
    flags = dict(zip(app_settings()[::2], app_settings()[1::2], strict=True))
    assert flags["--server.address"] == "localhost" and flags["--server.maxUploadSize"] == "50"
    assert flags["--browser.gatherUsageStats"] == "false" and flags["--server.fileWatcherType"] == "none"


def test_every_subcommand_answers_help_and_version_and_shows_its_defaults(capsys):
    def words(entry, path=()):
        for name, sub in entry.items():
            yield from (words(sub, (*path, name)) if isinstance(sub, dict) else [(*path, name)])

    for path in words(COMMANDS):
        with pytest.raises(SystemExit) as done:
            main([*path, "--version"])
        assert done.value.code == 0 and capsys.readouterr().out.strip() == f"muser {__version__}"
        with pytest.raises(SystemExit) as done:
            main([*path, "--help"])
        text = capsys.readouterr().out
        assert done.value.code == 0 and text.startswith(f"usage: muser {' '.join(path)}")
    with pytest.raises(SystemExit):
        main(["indicators", "--help"])
    assert "(default: 200)" in " ".join(capsys.readouterr().out.split())  # --bootstrap's default is shown


def test_bad_commands_are_one_line_and_exit_2(capsys):
    for argv in (["nosuch"], ["features", "nosuch"], ["train", "--max-epochs", "x"], ["corpus"],
                 ["features", "text", "--in", "missing.csv", "--out", "x.csv"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, (argv, err)


def test_muser_help_answers_without_importing_torch():
    code = ("import sys; from muser_core.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n"
            "    print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=CHECKOUT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().endswith("False")


@pytest.mark.slow
def test_stopping_muser_app_stops_the_server(tmp_path):
    """SIGTERM to `muser app` (a service manager's stop, a test's teardown) ends the server: Streamlit runs in
    its process, not in a child that would be left serving."""
    import signal

    env = {**os.environ, "MUSER_RUNS_DIR": str(tmp_path / "runs"), "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen([sys.executable, "-m", "muser_core", "app", "--port", "8598"], cwd=tmp_path,
                              env={**env, "PYTHONPATH": str(CHECKOUT)}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen("http://127.0.0.1:8598/_stcore/health", timeout=2)
                break
            except OSError:
                assert time.time() < deadline and server.poll() is None
                time.sleep(0.5)
        family = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
        server.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(family, timeout=30)
        assert not alive, [" ".join(p.cmdline())[:80] for p in alive]
    finally:
        for p in psutil.Process().children(recursive=True):
            if "8598" in " ".join(p.cmdline()):
                p.kill()
