"""``muser``: the one command line of the MUSER stress lab (``python -m muser_core`` is the same).

    muser --help                      the subcommands
    muser train --corpus demo --out runs/first
    muser features text --in corpus.csv --out text.csv

Each subcommand lives in the module that does its work, as two functions:
``add_arguments(parser)`` declares its flags and ``run(args) -> int`` does the
job. :data:`COMMANDS` names them; only the chosen one is imported, so ``muser
--help`` answers without loading PyTorch. Every subcommand has ``--version``,
shows every default in its help, and answers bad input with one line on
stderr and exit status 2 (:class:`~muser_core.base.errors.InputError`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from muser_core.base.errors import InputError
from muser_core.base.version import __version__

PROG = "muser"


@dataclass(frozen=True)
class Command:
    """One subcommand: the module holding ``add_arguments``/``run``, a one-line summary, a longer description."""

    module: str
    summary: str
    description: str = ""
    passes_unknown: bool = False  # unknown flags reach run() as args.unknown (the sweep's train flags)
    registers: tuple[str, ...] = ()  # packages imported first: they register choices it lists (a study source)


COMMANDS: dict[str, Command | dict[str, Command]] = {
    "app": Command("muser_core.serve", "serve the app in the browser (localhost, upload cap, no usage statistics)",
                   "Serve the Streamlit app with the project's own settings, from any folder. Flags after "
                   "-- go to `streamlit run`."),
    "corpus": Command("muser_core.sources", "write one canonical utterance table from a data set",
                      "Write one canonical utterance table, and its metadata, from a data set (MuSE, OMG-Emotion, "
                      "Dreaddit, EmoBank, a manifest of your own clips, a study recorded in the app, or the "
                      "synthetic demo).", registers=("muser_core.study",)),
    "features": {
        "text": Command("muser_core.features.text", "LIWC-style word-category scores for each text of a CSV column",
                        "LIWC-style word-category scores for each text of a CSV column (MUSER paper 3.2)."),
        "acoustic": Command("muser_core.features.acoustic", "the 88 eGeMAPSv02 functionals of audio files",
                            "Extract the 88 eGeMAPSv02 functionals with openSMILE (MUSER paper 3.3)."),
    },
    "indicators": Command("muser_core.indicators", "the top-k stress and emotion indicators, with stability",
                          "Top-k stress/activation/valence indicators with bootstrap stability (MUSER section 3)."),
    "train": Command("muser_core.train.cli", "train one multi-task run (stress + emotion tasks)",
                     "Train one run of the multi-task model (MUSER section 4) into a run folder; resume a "
                     "stopped one. Every training setting is a flag."),
    "sweep": Command("muser_core.sweep.grid", "train variants x seeds and tabulate them like Tables 6-9",
                     "Train every variant (a row of the paper's Tables 6-9, or your own) with every seed, on "
                     "local processes or Ray, and write mean +- sd and paired t-tests against a reference. "
                     "Any other flag is a `muser train` flag applied to every variant.", passes_unknown=True),
    "predict": Command("muser_core.predict.cli", "stress, activation and valence of one voice clip, as JSON",
                       "Predict stress, activation and valence for one voice clip; one JSON object on stdout."),
    "segment": Command("muser_core.audio.segment", "cut a long recording into one clip per sentence",
                       "Cut a long recording into one clip per sentence, with a manifest for `muser corpus`."),
    "study": {
        "personal-model": Command("muser_core.study.personal_model",
                                  "train a participant's personal stress model on a recorded study",
                                  "Train a participant's personal stress model on a study recorded in the app."),
    },
}


class CommandParser(argparse.ArgumentParser):
    """argparse whose mistakes are one line (an InputError), shown like every other bad input."""

    def error(self, message: str):
        raise InputError(message)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each flag's default, unless its help already says it or there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("default" in text or action.required or action.default in (None, False, "", [], argparse.SUPPRESS)
                or not action.option_strings):
            return text
        return f"{text} (default: %(default)s)"


def _parser(prog: str, description: str, epilog: str | None = None) -> CommandParser:
    parser = CommandParser(prog=prog, description=description, epilog=epilog, formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return parser


def _listing(commands: dict[str, Command | dict[str, Command]]) -> str:
    width = max(map(len, commands)) + 2
    lines = []
    for name, entry in commands.items():
        summary = entry.summary if isinstance(entry, Command) else "; ".join(
            f"{sub}: {c.summary}" for sub, c in entry.items())
        lines.append(f"  {name.ljust(width)}{summary}")
    return "\n".join(lines)


def command_parser(words: Sequence[str]) -> tuple[CommandParser, Command]:
    """The parser of ``muser WORDS`` (its module imported, its flags declared) and its command."""
    entry, path = COMMANDS, []
    for word in words:
        if not isinstance(entry, dict) or word not in entry:
            break
        entry, path = entry[word], [*path, word]
    if not isinstance(entry, Command):
        raise InputError(f"unknown command '{' '.join(words)}' (choose {', '.join(COMMANDS)})")
    parser = _parser(" ".join([PROG, *path]), entry.description or entry.summary)
    for package in entry.registers:
        importlib.import_module(package)
    importlib.import_module(entry.module).add_arguments(parser)
    return parser, entry


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``muser ARGV``; returns the exit status (2 and one line on stderr for bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    entry: dict | Command = COMMANDS
    path: list[str] = []
    while isinstance(entry, dict):
        if not argv or argv[0].startswith("-"):
            top = _parser(" ".join([PROG, *path]), "MUSER stress lab: stress detection from speech, with emotion "
                          "recognition as an auxiliary task." if not path else f"{' '.join(path)} commands.",
                          epilog="commands:\n" + _listing(entry) + f"\n\n`{PROG} COMMAND --help` for its flags.")
            try:
                top.parse_args(argv)  # --help, --version
            except InputError as exc:
                return _fail(exc)
            top.print_help()
            return 0 if not argv else 2
        if argv[0] not in entry:
            return _fail(InputError(f"unknown command '{' '.join([*path, argv[0]])}' "
                                    f"(choose {', '.join(entry)})"))
        word = argv.pop(0)
        entry, path = entry[word], [*path, word]
    try:
        parser, command = command_parser(path)
        if command.passes_unknown:
            args, unknown = parser.parse_known_args(argv)
            args.unknown = unknown
        else:
            args = parser.parse_args(argv)
        return importlib.import_module(command.module).run(args)
    except InputError as exc:
        return _fail(exc)


def _fail(exc: Exception) -> int:
    print(f"error: {exc}".splitlines()[0], file=sys.stderr)
    return 2


def run_command(*words: str) -> Callable[..., int]:
    """``run_command("sweep")(argv)`` is ``main(["sweep", *argv])``: a subcommand as a function."""
    return lambda argv=(): main([*words, *argv])
