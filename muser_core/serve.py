"""``muser app``: serve the Streamlit app with the project's own settings, from any folder.

Streamlit reads ``.streamlit/config.toml`` from the folder it is started in, so
``streamlit run /path/app.py`` from elsewhere would serve on every interface,
with a 200 MB upload cap and usage statistics on. ``muser app`` passes the
project's settings (the app folder's ``.streamlit/config.toml``: localhost,
the upload cap, no usage statistics, no file watcher) as flags instead, which
Streamlit ranks above every config file. The app's files come from
:data:`~muser_core.base.paths.APP_DIR` (the checkout, or ``muser_app/`` of the
installed package). This module imports no Streamlit: it starts it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import tomllib

from muser_core.base.errors import InputError
from muser_core.base.paths import APP_DIR


def app_settings(app_dir: Path = APP_DIR) -> list[str]:
    """The project's Streamlit settings as ``--section.option value`` flags."""
    path = app_dir / ".streamlit" / "config.toml"
    try:
        config = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: cannot read the app's settings ({exc})") from None
    flags = []
    for section, options in config.items():
        for name, value in options.items():
            flags += [f"--{section}.{name}", str(value).lower() if isinstance(value, bool) else str(value)]
    return flags


def app_command(port: int | None = None, extra: list[str] = ()) -> list[str]:
    """The ``streamlit run`` command line ``muser app`` runs."""
    script = APP_DIR / "app.py"
    if not script.is_file():
        raise InputError(f"{script}: the app's files are missing (reinstall the package)")
    command = [sys.executable, "-m", "streamlit", "run", str(script), *app_settings()]
    if port is not None:
        command += ["--server.port", str(port)]
    return [*command, *extra]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8501, help="the port on localhost")
    parser.add_argument("streamlit_flags", nargs=argparse.REMAINDER,
                        help="after --: more `streamlit run` flags (e.g. -- --server.address 0.0.0.0 to serve "
                             "your network, at your own risk)")


def run(args: argparse.Namespace) -> int:
    extra = [f for f in args.streamlit_flags if f != "--"]
    command = app_command(args.port, extra)
    print(f"serving the MUSER stress lab from {APP_DIR} on http://localhost:{args.port}", flush=True)
    os.chdir(APP_DIR)
    # Streamlit replaces this process (same pid), so Ctrl-C, SIGTERM or a service manager's stop reach the
    # server itself; a child would be left serving when only its parent was stopped.
    # No network at run time: models and data come from installed packages and the app's files.
    os.execve(command[0], command, {**os.environ, "HF_HUB_OFFLINE": "1"})
    return 0  # not reached
