"""``muser train``: train one run of the multi-task model, or resume it.

    muser train --corpus demo --strategy speed --history 5 --out runs/NAME
    muser train --config runs/OTHER/config.json --seed 1 --out runs/NAME
    muser train --out runs/NAME --resume

Every field of :class:`~muser_core.config.RunConfig` declared with
:func:`~muser_core.base.settings.setting` becomes a flag with its help text; the
Train page's "show command" and the sweep's variants go through the same
table, so a run started anywhere can be repeated from a terminal.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from muser_core.base.errors import InputError, print_notices
from muser_core.base.settings import Setting, number_argument
from muser_core.base.tasks import MAIN_TASK
from muser_core.config import PAPER_DEVIATIONS, RunConfig, paper_preset, settings
from muser_core.train.run import train_run
from muser_core.train.run_folder import run_path


def cli_settings() -> list[Setting]:
    """The settings a user may give on the command line."""
    return [s for s in settings() if s.cli]


def _parse_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


_TYPES = {"int": number_argument(int), "float": number_argument(float), "optional float": number_argument(float),
          "str": str, "list": _parse_list}


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per setting; a flag not given keeps the value of ``--config`` (or the default)."""
    for s in cli_settings():
        choices = s.choices if s.kind == "str" else None
        default = ",".join(s.default) if isinstance(s.default, list) else s.default
        help_text = f"{s.help}" + (f" (default: {default})" if default not in (None, "", []) else "")
        if s.kind == "bool":   # --flag / --no-flag
            parser.add_argument(s.flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                                help=s.help)
            continue
        parser.add_argument(s.flag, type=_TYPES[s.kind], default=argparse.SUPPRESS, help=help_text,
                            metavar=("{" + ",".join(choices) + "}") if choices else None)
    parser.add_argument("--config", default=argparse.SUPPRESS,
                        help="start from a config.json (or JSON text); other flags override it")
    parser.add_argument("--paper", action="store_true", default=argparse.SUPPRESS,
                        help="the paper's settings (section 5.1: fine-tuned encoder, max length 128, batch 32, "
                             "clipping 1.0, the paper's learning rates, paper split, rho 0.1); other flags "
                             "override them; prints what still differs from the paper")


def given_config_flags(args: argparse.Namespace) -> list[str]:
    """The setting flags (and --config) that were given on the command line."""
    values = vars(args)
    given = [s.flag for s in cli_settings() if s.flag.lstrip("-").replace("-", "_") in values]
    return given + [flag for flag in ("--config", "--paper") if flag.lstrip("-") in values]


def config_from_args(args: argparse.Namespace, base: RunConfig | None = None) -> RunConfig:
    """Apply the flags that were given on top of ``base`` (or ``--config``, or the defaults)."""
    values = vars(args)
    cfg = RunConfig.from_json(values["config"]) if "config" in values else (base or RunConfig())
    if values.get("paper"):
        cfg = paper_preset(cfg)
    for s in cli_settings():
        key = s.flag.lstrip("-").replace("-", "_")
        if key in values:
            section = getattr(cfg, s.section)
            cfg = replace(cfg, **{s.section: replace(section, **{s.name: values[key]})})
    return cfg


def command_line(cfg: RunConfig, out: str) -> str:
    """The ``muser train`` command that makes the same run (the flags that differ from defaults)."""
    default = RunConfig()
    args = ["muser", "train"]
    for s in cli_settings():
        value = getattr(getattr(cfg, s.section), s.name)
        if value != getattr(getattr(default, s.section), s.name) and value not in (None, "", []):
            if isinstance(value, bool):
                args.append(s.flag if value else "--no-" + s.flag.removeprefix("--"))
                continue
            args += [s.flag, ",".join(value) if isinstance(value, list) else str(value)]
    return shlex.join([*args, "--out", out])


def parse_seeds(text: str, limit: int = 20) -> list[int]:
    """'0,1,2' or '0-4' -> seeds; one-line InputError on anything else."""
    seeds: list[int] = []
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise InputError(f"seeds '{text}': write whole numbers like 0,1,2 or a range 0-4")
        lo, hi = int(m[1]), int(m[2] or m[1])
        if hi < lo:
            raise InputError(f"seeds '{text}': the range {part} runs backwards")
        if hi - lo >= limit:
            raise InputError(f"seeds '{text}': at most {limit} at once")
        seeds += list(range(lo, hi + 1))
    seeds = list(dict.fromkeys(seeds))
    if not seeds:
        raise InputError("give at least one seed, e.g. 0 or 0,1,2")
    if len(seeds) > limit:
        raise InputError(f"{len(seeds)} seeds: at most {limit} at once")
    return seeds


def paper_deviations_text() -> str:
    """What still differs from the paper with --paper, one line each."""
    lines = ["paper settings applied; still different from the paper:"]
    lines += [f"  - {what}: paper {paper}; here {ours}" for what, paper, ours in PAPER_DEVIATIONS]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``muser train``'s flags: every setting, and where the run goes."""
    add_config_flags(parser)
    parser.add_argument("--out", help="run folder, e.g. runs/NAME")
    parser.add_argument("--name", help="run name inside the runs folder (instead of --out)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out with its saved settings")
    parser.add_argument("--init-from", help="initialise weights from a run folder or .safetensors")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Train (or resume) the run the flags describe; print its test stress metrics."""
    print_notices()
    if not args.out and not args.name:
        raise InputError("give --out runs/NAME (or --name NAME)")
    out = Path(args.out) if args.out else run_path(args.name)
    if args.resume:
        if not (out / "config.json").is_file():
            raise InputError(f"{out}: not a run folder (no config.json), nothing to resume")
        ignored = given_config_flags(args) + (["--init-from"] if args.init_from else [])
        if ignored:
            raise InputError(f"--resume continues with the run's saved settings; drop {', '.join(ignored)} "
                             f"(or start a new run: --config {out / 'config.json'} {ignored[0]} ...)")
    cfg = None if args.resume else config_from_args(args)
    if getattr(args, "paper", False):
        print(paper_deviations_text(), file=sys.stderr)
    test = train_run(cfg, out, resume=args.resume, init_from=args.init_from, progress=not args.no_progress)
    if not test:
        print(f"stopped; continue with: muser train --out {shlex.quote(str(out))} --resume")
        return 0
    stress = test[MAIN_TASK]
    print(f"test stress: accuracy {stress['accuracy']:.3f}, precision {stress['precision']:.3f}, "
          f"recall {stress['recall']:.3f}, F1 {stress['f1']:.3f}  ({out})")
    return 0
