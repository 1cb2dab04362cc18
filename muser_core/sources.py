"""Every data source the app reads, listed once in :data:`SOURCES`.

The corpus command line (``muser corpus``, its flags made
here from the registry), the data picker of every page and the Train page's
corpus and external-set choices all read it. A :class:`Source` says how it
is located (built in, a folder, a file, or one of a listed set such as the
studies recorded in the app), what the pickers call it, whether it may be the
training corpus or an external emotion set (paper 4.1, Table 9), and its
loader. Adding a data set is one loader file under :mod:`muser_core.data` and
one entry in :data:`SOURCES`; a data set read by a package above this one (the
studies recorded in the app) registers itself with :func:`register`.

A run's ``--corpus``/``--external`` take a built-in source's name or a
canonical CSV; :func:`corpus_file` turns any other source into such a CSV,
copied once into ``<runs>/.corpora/`` so that ``config.json`` repeats the run.

Command line::

    muser corpus --muse ROOT | --omg ROOT [--omg-split paper|official] | --manifest CSV | --demo \\
        | --study DIR  --out corpus.csv [--split speaker|paper] [--seed N]

writes ``corpus.csv`` and its metadata (label scales, notes, skipped items) as
``corpus.csv.meta.json``; it never overwrites a file it did not write.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from muser_core.base.errors import InputError
from muser_core.base.paths import runs_dir
from muser_core.base.tasks import EMOTION_TASKS, INTERNAL_TASKS, MAIN_TASK
from muser_core.data.corpus import Corpus, check_table_path, sidecar_path
from muser_core.data.demo import CORPUS_FILE, load_demo, load_demo_external
from muser_core.data.dreaddit import load_dreaddit
from muser_core.data.emobank import EMOBANK_FILE, load_emobank
from muser_core.data.manifest import load_manifest, load_uploaded_manifest, parse_scales
from muser_core.data.muse import MUSE_EMOTION_LABELS, load_muse
from muser_core.data.omg import OMG_SPLITS, load_omg
from muser_core.data.splits import SPLIT_METHODS

CORPORA = ".corpora"  # canonical CSVs made from MuSE/manifest/OMG sources, inside the runs folder
CORPUS_FORMAT = "2"   # raise when a loader's output changes (2: OMG-Emotion split as in the paper, 4.1)

# How a source is located.
BUILT_IN = "built in"  # shipped with the app: named, no path (``--corpus demo``)
FOLDER = "folder"      # a folder on this machine (a MuSE or OMG-Emotion copy, a study)
FILE = "file"          # a file on this machine (a manifest CSV)


@dataclass(frozen=True)
class Option:
    """A setting one source's loader takes besides the split: a ``--flag`` and a select box on the pages."""

    name: str                  # the loader's keyword; the flag is --name with dashes
    choices: tuple[str, ...]   # the first is the default; ("",) with ``free``: any text, empty by default
    help: str
    label: str                 # the select box's (or text box's) label
    free: bool = False         # any text (a column name), not one of ``choices``

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def default(self) -> str:
        return self.choices[0]


def _always() -> bool:
    return True


@dataclass(frozen=True)
class Source:
    """One data set the app can read, and everything the CLI and the pickers need to offer it."""

    name: str                 # --name on the command line; the kind in the Train page's (kind, path)
    title: str                # what the pickers call it
    load: Callable[..., Corpus]  # load(path, split, seed, **options) -> Corpus; path is "" when built in
    location: str = BUILT_IN  # BUILT_IN, FOLDER or FILE
    help: str = ""            # the flag's help, and the location widget's
    metavar: str = ""         # the flag's placeholder for the location (ROOT, CSV, DIR)
    path_label: str = ""      # the location widget's label ("MuSE root folder")
    env: str = ""             # an environment variable holding a default location (MUSER_MUSE_ROOT)
    hint: str = ""            # what to give ("the folder of your MuSE copy"); a listed source: how to make one
    options: tuple[Option, ...] = ()
    present: Callable[[], bool] = _always  # False when a built-in source's files are missing from this copy
    train: bool = True        # may be the training corpus (it has stress labels)
    external: Callable[[str], Corpus] | None = None  # loads it as the external emotion set (path -> Corpus)
    external_title: str = ""  # the external-set picker's name for it (default: title)
    listing: Callable[[], list[Path]] | None = None  # the folders to choose from, instead of a path
    fingerprint: Callable[[Path], str] | None = None  # a growing source's content: renews copies and caches
    upload: Callable[..., Corpus] | None = None  # (bytes, name, split, seed, audio_roots=) -> Corpus: pages may upload
    note: str = ""            # a line the Train page shows under the choice
    tasks: tuple[str, ...] = INTERNAL_TASKS  # the labels the data set has (a manifest: whichever columns it fills)
    other_copy: bool = False  # a built-in source that also reads another copy in the same layout (--emobank DIR)
    audio: bool = True        # False for text-only data sets (EmoBank, Dreaddit): runs need --modality text
    licence: str = ""         # the data's licence, for the run's data record and the README

    @property
    def built_in(self) -> bool:
        return self.location == BUILT_IN


DEMO, MUSE, OMG, MANIFEST, STUDY = "demo", "muse", "omg", "manifest", "study"
EMOBANK, DREADDIT = "emobank", "dreaddit"

SOURCES: dict[str, Source] = {
    DEMO: Source(
        DEMO, "Demo corpus (synthetic)", lambda path, split, seed: load_demo(split),
        help="the embedded synthetic demo corpus", present=CORPUS_FILE.is_file,
        external=lambda path: load_demo_external(), external_title="Demo external set (synthetic, OMG-shaped)"),
    EMOBANK: Source(
        EMOBANK, "EmoBank (real emotion ratings, shipped)", lambda path, split, seed: load_emobank(path),
        help="EmoBank (Buechel and Hahn 2017): 10,062 sentences with real valence/arousal ratings on 1..5, "
             "shipped in data/emobank (CC BY-SA 4.0); give DIR to read another copy in the same layout",
        metavar="DIR", present=EMOBANK_FILE.is_file, train=False, external=load_emobank,
        external_title="EmoBank (real emotion ratings, text)", tasks=EMOTION_TASKS, other_copy=True,
        licence="CC BY-SA 4.0", audio=False, note="Text only: train with Modality = text."),
    DREADDIT: Source(
        DREADDIT, "Dreaddit copy", lambda path, split, seed: load_dreaddit(path, seed=seed), FOLDER,
        help="a Dreaddit copy (dreaddit-train.csv and dreaddit-test.csv, as distributed): real stress labels on "
             "Reddit posts; its own test file, a seeded hold-out of whole posts for validation",
        metavar="DIR", path_label="Dreaddit folder", env="MUSER_DREADDIT_ROOT",
        hint="the folder holding dreaddit-train.csv and dreaddit-test.csv", tasks=(MAIN_TASK,),
        licence="research use (Turcan and McKeown 2019); not redistributable, so not shipped",
        audio=False,
        note="Text only (Reddit posts): train with Modality = text; the split is Dreaddit's own (Split = table)."),
    MUSE: Source(
        MUSE, "MuSE copy", lambda path, split, seed, emotion_label: load_muse(path, emotion_label, split, seed),
        FOLDER, help="a MuSE copy in its distributed layout", metavar="ROOT", path_label="MuSE root folder",
        env="MUSER_MUSE_ROOT", hint="the folder of your MuSE copy",
        options=(Option("emotion_label", tuple(MUSE_EMOTION_LABELS), "MuSE only: which activation/valence "
                                                                     "ratings to use", "Emotion labels"),)),
    OMG: Source(
        OMG, "OMG-Emotion copy", lambda path, split, seed, omg_split: load_omg(path, split=omg_split, seed=seed),
        FOLDER, help="an OMG-Emotion copy (CSVs and clip folders)", metavar="ROOT",
        path_label="OMG-Emotion root folder", env="MUSER_OMG_ROOT",
        hint="the folder of your OMG-Emotion copy",
        options=(Option("omg_split", OMG_SPLITS, "OMG-Emotion only: paper (default; Train and Validation "
                                                 "pooled, 300 of 1,484 videos held out for validation, the same "
                                                 "share of a smaller copy, paper 4.1) or official (the data "
                                                 "set's Train/Validation/Test files)", "OMG-Emotion split"),),
        train=False, external=lambda path: load_omg(path), tasks=EMOTION_TASKS),
    MANIFEST: Source(
        MANIFEST, "Manifest or canonical CSV",
        lambda path, split, seed, stress_column, activation_column, valence_column, scale: load_manifest(
            path, split, seed, label_columns={"stress": stress_column, "activation": activation_column,
                                              "valence": valence_column}, scales=parse_scales(scale)), FILE,
        help="a CSV with text and/or audio_path and labels (audio paths relative to the CSV), or a table "
             "from muser corpus", metavar="CSV", path_label="CSV path",
        hint="a CSV with a `text` and/or `audio_path` column and any of `stress`, `activation`, `valence`",
        options=(
            Option("stress_column", ("",), "manifest only: the column holding stress (0/1), e.g. label",
                   "Stress column", free=True),
            Option("activation_column", ("",), "manifest only: the column holding activation", "Activation column",
                   free=True),
            Option("valence_column", ("",), "manifest only: the column holding valence", "Valence column", free=True),
            Option("scale", ("",), "manifest only: the label scales, e.g. activation=1:5,valence=1:5 (default: "
                                   "the range of the values present, labelled as inferred)", "Label scales",
                   free=True)),
        upload=load_uploaded_manifest),
}


def register(entry: Source) -> Source:
    """Add a data source whose loader sits above :mod:`muser_core.data` (a study, read with its own package).

    The study source registers itself when :mod:`muser_core.study` is imported;
    training, the command line and the app import that package, so every place
    that can meet a study lists it. Registry order is the pickers' order.
    """
    if entry.name in SOURCES:
        raise ValueError(f"data source '{entry.name}' is registered twice")
    SOURCES[entry.name] = entry
    return entry


def available(*, training: bool = False, external: bool = False) -> list[Source]:
    """The sources this copy of the app can offer, in registry order.

    ``training``: only those that may be the training corpus; ``external``:
    only those that may be the external emotion set.
    """
    return [s for s in SOURCES.values() if s.present()
            and (not training or s.train) and (not external or s.external is not None)]


def is_built_in(spec: str) -> bool:
    """True when a ``--corpus``/``--external`` value names a built-in source rather than a CSV."""
    source = SOURCES.get(spec)
    return source is not None and source.built_in


def named_source(spec: str) -> tuple[Source, str] | None:
    """The source a ``--corpus``/``--external`` value names, with its location; None for a table's path.

    ``emobank`` (built in), ``omg:/data/OMG-Emotion`` (a source and its
    location), or ``dreaddit`` alone when its environment variable
    (``MUSER_DREADDIT_ROOT``) holds the location. Anything else is a path to a
    canonical or manifest table.
    """
    name, sep, path = str(spec).partition(":")
    s = SOURCES.get(name)
    if s is None:
        if sep and re.fullmatch(r"[a-z][a-z_]+", name):  # NAME:PATH of no known source, never a table's path
            raise InputError(f"'{spec}': unknown data source '{name}' (choose {', '.join(SOURCES)})")
        return None
    if s.built_in:
        if sep and not s.other_copy:
            raise InputError(f"'{spec}': {name} is built in; give it without a path")
        return s, path
    path = path or (os.environ.get(s.env, "") if s.env else "")
    if not path:
        how = f" (or set {s.env})" if s.env else ""
        raise InputError(f"'{spec}': give the location of the {name} data as {name}:{s.metavar or 'PATH'}{how}")
    return s, path


def labelled_tasks(spec: str) -> tuple[str, ...] | None:
    """The tasks a ``--corpus``/``--external`` value's data set has labels for, as its registry entry says;
    None for a table's path (known only once it is read)."""
    named = named_source(spec) if spec else None
    return named[0].tasks if named else None


def resolved_spec(spec: str) -> str:
    """A ``--corpus``/``--external`` value with its location made absolute, so config.json repeats the run."""
    named = named_source(spec)
    if named is None:
        return str(Path(spec).expanduser().resolve())
    s, path = named
    return f"{s.name}:{Path(path).expanduser().resolve()}" if path else s.name


# config.json writes the runs folder so: a runs folder copied elsewhere, with its .corpora/, still finds its data.
RUNS_FOLDER = "${MUSER_RUNS_DIR}"


def stored_spec(spec: str) -> str:
    """A resolved ``--corpus``/``--external`` value as ``config.json`` keeps it: a table inside the runs folder
    (the app's copies in ``.corpora/``) as ``${MUSER_RUNS_DIR}/...``, so a runs folder copied to another
    folder or machine still finds its data. Anything else is kept absolute, so the run repeats from any
    folder without an environment variable."""
    if not spec or named_source_or_none(spec) is not None:
        return spec
    path, root = Path(spec), runs_dir().expanduser().resolve()
    return f"{RUNS_FOLDER}/{path.relative_to(root).as_posix()}" if path.is_absolute() and path.is_relative_to(root) \
        else spec


def named_source_or_none(spec: str) -> tuple[Source, str] | None:
    """:func:`named_source`, or None where it would refuse the value (said where the value is used)."""
    try:
        return named_source(spec)
    except InputError:
        return None


def opened_spec(spec: str) -> str:
    """A ``config.json`` value as this machine reads it (:func:`stored_spec` undone)."""
    if spec.startswith(RUNS_FOLDER + "/"):
        return str(runs_dir().expanduser().resolve() / spec.removeprefix(RUNS_FOLDER + "/"))
    return spec


def table_spec(spec: str, *, external: bool = False) -> str:
    """A ``--corpus``/``--external`` value as training reads it: a built-in name or a table's path.

    A named source that is not built in is first copied into a canonical
    table (:func:`corpus_file`).
    """
    named = named_source(spec)
    if named is None or (named[0].built_in and not named[1]):
        return spec
    return corpus_file(named[0].name, named[1], external=external)


def source(name: str) -> Source:
    """The registered source ``name``, or one line listing the known ones."""
    if name not in SOURCES:
        raise InputError(f"unknown data source '{name}' (choose {', '.join(SOURCES)})")
    return SOURCES[name]


def load(name: str, path: str | Path = "", *, split: str = "speaker", seed: int = 0, external: bool = False,
         **options: str) -> Corpus:
    """Load source ``name`` (from ``path`` unless it is built in) as the main corpus or the external set.

    ``options`` are the source's own :class:`Option` values; missing ones take
    their defaults. The loader says what is wrong with the path.
    """
    s = source(name)
    if not s.built_in and not str(path):
        raise InputError(f"give the path of the {name} data")
    if s.built_in and str(path) and not s.other_copy:
        raise InputError(f"{name} is built in; it takes no path (got {path})")
    if external:
        if s.external is None:
            offered = ", ".join(x.name for x in available(external=True))
            raise InputError(f"{s.title} is not an external emotion set (choose {offered})")
        return s.external(str(path))
    unknown = set(options) - {o.name for o in s.options}
    if unknown:
        raise InputError(f"{s.title} takes no option {', '.join(sorted(unknown))}")
    chosen = {o.name: options.get(o.name, o.default) for o in s.options}
    return s.load(str(path), split, seed, **chosen)


def corpus_file(kind: str, path: str, split: str = "speaker", *, external: bool = False) -> str:
    """A source as ``--corpus``/``--external`` take it: a built-in source's name or a canonical CSV.

    ``kind`` names a source in :data:`SOURCES`. A copy is written once to
    ``<runs>/.corpora/`` and named by the source path (a growing source's
    also by its content), so runs repeat from their config.json.
    """
    s = source(kind)
    if s.built_in and not path:
        return kind
    if not path:
        raise InputError(f"give the path of the {kind} data")
    origin = Path(path).expanduser()
    if not origin.exists():
        raise InputError(f"{origin}: not found")
    content = f"|{s.fingerprint(origin)}" if s.fingerprint else ""
    # The loaders' version is part of the name: a copy made by an older loader (e.g. OMG's official splits
    # before the paper's 300-video hold-out became the default) must not be reused.
    digest = hashlib.sha1(f"{kind}|{origin.resolve()}|{split}|{CORPUS_FORMAT}{content}".encode()).hexdigest()[:10]
    target = runs_dir() / CORPORA / f"{kind}-{origin.stem or 'data'}-{digest}.csv"
    if not target.is_file():
        load(kind, origin, split=split, external=external).save(target)
    return str(target)


def corpus_copies(kind: str, name: str) -> list[Path]:
    """The canonical copies :func:`corpus_file` made of sources of ``kind`` whose folder or file is ``name``."""
    pattern = re.compile(rf"{re.escape(kind)}-{re.escape(name)}-[0-9a-f]{{10}}\.csv")
    folder = runs_dir() / CORPORA
    return sorted(p for p in folder.glob(f"{kind}-*.csv") if pattern.fullmatch(p.name)) if folder.is_dir() else []


def runs_reading(tables: list[Path]) -> list[str]:
    """Names of the run folders under the runs folder whose config.json trains on one of ``tables``."""
    wanted = {str(t) for t in tables}
    runs = []
    if wanted and runs_dir().is_dir():
        for config in runs_dir().glob("**/config.json"):
            try:
                corpus = json.loads(config.read_text()).get("data", {}).get("corpus", "")
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(corpus, str) and opened_spec(corpus) in wanted:
                runs.append(config.parent.name)
    return sorted(runs)


# --------------------------------------------------------------------------- command line

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``muser corpus``'s flags: one per registered source and per source option."""
    group = parser.add_mutually_exclusive_group(required=True)
    for s in SOURCES.values():
        if s.built_in and s.other_copy:   # the shipped copy, or another one: --emobank [DIR]
            group.add_argument(f"--{s.name}", dest=s.name, nargs="?", const="", metavar=s.metavar, help=s.help)
        elif s.built_in:
            group.add_argument(f"--{s.name}", dest=s.name, action="store_true", help=s.help)
        else:
            group.add_argument(f"--{s.name}", dest=s.name, metavar=s.metavar or s.location.upper(), help=s.help)
    parser.add_argument("--out", required=True,
                        help="the canonical table to write (.csv or .csv.gz; its metadata goes to <out>.meta.json)")
    parser.add_argument("--split", choices=SPLIT_METHODS, default=SPLIT_METHODS[0],
                        help="speaker-independent (default) or the paper's sentence counts")
    for s in SOURCES.values():
        for o in s.options:
            parser.add_argument(o.flag, dest=o.name, choices=None if o.free else o.choices, default=o.default,
                                help=o.help, metavar="TEXT" if o.free else None)
    parser.add_argument("--seed", type=int, default=0, help="seeds the split (and the OMG hold-out)")


def run(args: argparse.Namespace) -> int:
    """Write the canonical table of the source given on the command line."""
    name = next(n for n in SOURCES if getattr(args, n) not in (None, False))
    s = SOURCES[name]
    check_table_path(args.out)  # before a long load, not after it
    location = getattr(args, name)
    corpus = load(name, "" if location is True else location, split=args.split, seed=args.seed,
                  **{o.name: getattr(args, o.name) for o in s.options})
    corpus.save(args.out)
    print(corpus.summary())
    print(f"wrote {args.out} and {sidecar_path(args.out).name}")
    return 0
