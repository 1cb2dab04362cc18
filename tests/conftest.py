"""Fixtures that build small data sets on disk: MuSE-shaped, OMG-shaped, a manifest, WAV files.

Tests make their own data (no downloads): tones and chirps written with
soundfile, mp4 clips encoded with PyAV, and spoken sentences from espeak-ng
where a test needs real speech.
"""

from __future__ import annotations

import csv
import math
import os
import resource
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile

from muser_core.config import RunConfig, StrategyConfig
from muser_core.data.corpus import Corpus, canonical
from muser_core.features.acoustic import EGEMAPS_FEATURES
from muser_core.strategies import TrainingState, make_strategy
from muser_core.train import Callback
from muser_core.train import run_folder as rf

SR = 16_000


def voiced_signal(seconds: float = 1.5, sr: int = SR, f0: float = 140.0, seed: int = 0) -> np.ndarray:
    """A harmonic tone with a slow pitch glide and a little noise: openSMILE finds voicing in it."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    pitch = f0 * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / sr
    signal = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2
    return (0.3 * envelope * signal / 2 + 0.005 * rng.standard_normal(t.size)).astype(np.float32)


def write_wav(path: Path, seconds: float = 1.5, sr: int = SR, channels: int = 1,
              subtype: str = "PCM_16", f0: float = 140.0, seed: int = 0) -> Path:
    """Write a voiced test signal in the given format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    signal = voiced_signal(seconds, sr, f0, seed)
    if channels > 1:
        signal = np.stack([signal] * channels, axis=1)
    soundfile.write(path, signal, sr, subtype=subtype)
    return path


def write_mp4(path: Path, seconds: float = 1.5, sr: int = 44_100) -> Path:
    """An mp4 with one AAC audio stream, like an OMG-Emotion clip."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    signal = voiced_signal(seconds, sr)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=sr, layout="mono")
        frame_size = 1024
        for start in range(0, signal.size, frame_size):
            chunk = signal[start:start + frame_size].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate = sr
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def speak(path: Path, text: str, voice: str = "en") -> Path:
    """Real speech from espeak-ng (CI installs it)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
    return path


MUSE_HEADER = ("Sentence_name,Duration,Gender,Type,Ques_Type,Activation_Mean,Activation_SD,"
               "Valence_Mean,Valence_SD,Activation_Annotation,Valence_Annotation,C_Activation_Mean,"
               "C_Activation_SD,C_Valence_Mean,C_Valence_SD,C_Activation_Annotation,"
               "C_Valence_Annotation,S_Activation,S_Valence")


@pytest.fixture
def muse_root(tmp_path: Path) -> Path:
    """A MuSE-shaped copy: 4 speakers x 2 sessions x 3 sentences, one transcript missing.

    Uses the short survey-folder spelling and two not-stressed audio folders,
    as some distributed copies have.
    """
    root = tmp_path / "MuSE"
    survey = root / "SurveyInformation"
    survey.mkdir(parents=True)
    rows = [MUSE_HEADER]
    for spk in ("01", "02", "03", "04"):
        for kind in ("S", "NS"):
            for q in range(3):
                utt = f"{spk}_{kind}_q{q}"
                self_act = "" if (spk, kind, q) == ("02", "S", 0) else str(6 if kind == "S" else 4)
                rows.append(f"{utt}.wav,2.1,{'F' if spk == '01' else 'M'},{kind},Q{q},"
                            f"5.5,1.2,4.5,1.1,5;6;5,4;5;4,5.8,1.0,4.2,1.0,6;6,4;4,{self_act},{3 if kind == 'S' else 7}")
                if (spk, kind, q) != ("03", "NS", 2):  # one sentence without a transcript
                    (root / "Combined" / "Utterance Transcripts").mkdir(parents=True, exist_ok=True)
                    (root / "Combined" / "Utterance Transcripts" / f"{utt}.txt").write_text(
                        f"um I am worried about exam {q}" if kind == "S" else f"I feel good today {q}")
                if kind == "S":
                    folder = root / "Stressed" / "Audio" / "Stressed Question Monologue Audio"
                else:
                    suffix = "" if spk in ("01", "02") else " 2"
                    folder = root / "NotStressed" / "Audio" / f"Non Stressed Question Monologue Audio{suffix}"
                write_wav(folder / f"{utt}.wav", seconds=0.8, seed=int(spk) * 10 + q)
    (survey / ("Emotion data from crowdsourcing (C is when annotators had access "
               "to all previous sentences).csv")).write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture
def omg_root(tmp_path: Path) -> Path:
    """An OMG-Emotion-shaped copy: CSVs, transcripts and mp4 clips in <video>/<utterance>."""
    root = tmp_path / "OMG"
    root.mkdir()
    for split, videos in (("Train", ["vidA", "vidB"]), ("Validation", ["vidC"])):
        label_rows = ["link,start,end,video,utterance,arousal,valence,EmotionMaxVote"]
        text_rows = ["link,video,utterance,transcript"]
        for v_i, video in enumerate(videos):
            for u in (1, 2):
                label_rows.append(f"https://example.invalid/{video},0,2,{video},utterance_{u}.mp4,"
                                  f"0.{3 + u},{-0.5 + v_i * 0.5},{u + 2}")
                text = "this is a long enough transcript here" if u == 1 else "too short"
                text_rows.append(f"https://example.invalid/{video},{video},utterance_{u}.mp4,{text}")
                write_mp4(root / video / f"utterance_{u}.mp4", seconds=1.0)
        (root / f"omg_{split}Videos.csv").write_text("\n".join(label_rows) + "\n")
        (root / f"omg_{split}Transcripts.csv").write_text("\n".join(text_rows) + "\n")
    return root


# --------------------------------------------------------------------------- a small labelled corpus

STRESSED = ["worried", "deadline", "exam", "pressure", "anxious", "late", "failing", "nervous"]
CALM = ["garden", "holiday", "relaxed", "sunny", "friends", "music", "weekend", "calm"]
FILLER = ["i", "think", "the", "was", "really", "about", "my", "today", "and", "it"]


def synthetic_corpus(n_speakers: int = 20, per_speaker: int = 15, seed: int = 0, signal: float = 0.6,
                     name: str = "synthetic") -> Corpus:
    """Speakers split 70/15/15; stress shows in 10 features, in a few words, and in the emotions."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_speakers):
        split = "train" if s < n_speakers * 0.7 else "validation" if s < n_speakers * 0.85 else "test"
        offset = rng.normal(0, 1, len(EGEMAPS_FEATURES))
        for u in range(per_speaker):
            stress = int(rng.random() < 0.5)
            pool = STRESSED if (rng.random() < 0.7) == bool(stress) else CALM
            words = list(rng.choice(FILLER, 4)) + list(rng.choice(pool, 1))
            rng.shuffle(words)
            feats = offset + rng.normal(0, 1, len(EGEMAPS_FEATURES))
            feats[:10] += signal * stress
            rows.append({"utterance_id": f"s{s}u{u}", "speaker": f"s{s}", "dataset": name, "split": split,
                         "text": " ".join(words), "stress": float(stress),
                         "activation": float(np.clip(4 + 2 * stress + rng.normal(0, 1), 1, 9)),
                         "valence": float(np.clip(6 - 1.5 * stress + rng.normal(0, 1), 1, 9)),
                         **dict(zip(EGEMAPS_FEATURES, feats, strict=True))})
    return Corpus(canonical(pd.DataFrame(rows)), name, {"activation": (1.0, 9.0), "valence": (1.0, 9.0)})


DREADDIT_HEADER = ["subreddit", "post_id", "sentence_range", "text", "id", "label", "confidence",
                   "social_timestamp", "social_karma", "syntax_ari", "lex_liwc_WC", "lex_liwc_Tone", "sentiment"]


def write_dreaddit(root: Path, train_posts: int = 40, test_posts: int = 12, seed: int = 0) -> Path:
    """A Dreaddit copy in the distributed layout (both files; 1-2 rows per post); stressed posts use stress words."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    next_id = 1
    for name, posts in (("dreaddit-train.csv", train_posts), ("dreaddit-test.csv", test_posts)):
        with open(root / name, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(DREADDIT_HEADER)
            for p in range(posts):
                label = p % 2
                for s in range(1 + p % 2):
                    pool = STRESSED if (rng.random() < 0.8) == bool(label) else CALM
                    words = " ".join([*rng.choice(FILLER, 8), *rng.choice(pool, 3)])
                    writer.writerow(["stress", f"{name[9:11]}{p}", f"({5 * s}, {5 * s + 5})", f"{words}.\n{words}.",
                                     next_id, label, 0.8, 1521614353, 3, 1.8, 40, 50.0, 0.1])
                    next_id += 1
    return root


def write_emobank(root: Path, per_split: int = 40) -> Path:
    """A small EmoBank copy in the distributed layout: the first rows of each split of the shipped copy (real)."""
    table = pd.read_csv(REPO / "data" / "emobank" / "emobank.csv", dtype=str, keep_default_na=False)
    small = pd.concat([table[table["split"] == s].head(per_split) for s in ("train", "dev", "test")])
    root.mkdir(parents=True, exist_ok=True)
    small.to_csv(root / "emobank.csv", index=False)
    return root


class StopAtBatch(Callback):
    """What SIGTERM or the Stop button does, at a chosen batch: ask the trainer to stop (after that batch)."""

    def __init__(self, batch: int):
        self.batch, self.seen = batch, 0

    def on_batch_end(self, trainer, task, idx, loss):
        self.seen += 1
        if self.seen == self.batch:
            trainer.stop_requested = True


TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A 2-layer BERT with random weights (safetensors) and MiniLM's tokenizer: no download."""
    import torch
    from transformers import BertConfig, BertModel

    from muser_core.features.text_encoder import default_model_path

    folder = tmp_path_factory.mktemp("tiny-bert")
    for name in TOKENIZER_FILES:
        if (default_model_path() / name).is_file():
            shutil.copy(default_model_path() / name, folder / name)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    return folder


def timeless(records: list[dict]) -> list[dict]:
    """metrics.jsonl records without their timings: what must repeat exactly between runs."""
    from muser_core.train.loop import TIMING_KEYS

    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in records]


# --------------------------------------------------------------------------- run folders


def make_run(root: Path, name: str, strategy: str = "speed", epochs: int = 12, history: int = 2,
             state: str = "finished", tasks=("stress", "activation", "valence"), seed: int = 0,
             test_accuracy: float | None = 0.8) -> Path:
    """A run folder as the trainer writes it, with probabilities from the real strategy."""
    rng = np.random.default_rng(seed)
    cfg = RunConfig()
    cfg = replace(cfg, data=replace(cfg.data, tasks=list(tasks)),
                  strategy=StrategyConfig(name=strategy, history=history),
                  train=replace(cfg.train, seed=seed, patience=5)).resolved()
    folder = root / name
    folder.mkdir(parents=True)
    rf.write_json(folder / rf.CONFIG, cfg.to_dict())
    strat = make_strategy(cfg.strategy)
    records = []
    for epoch in range(epochs + 1):
        val = {"stress": {"accuracy": 0.5 + 0.3 * (1 - math.exp(-epoch / 4)) + 0.02 * rng.standard_normal(),
                          "f1": 0.5 + 0.02 * epoch}}
        for task in tasks[1:]:
            val[task] = {"rmse": 2.0 * math.exp(-epoch / (3 + len(task) % 4)) + 0.5 + 0.01 * rng.random(),
                         "ccc": 0.1}
        probs = {} if epoch == 0 else strat.probabilities(TrainingState(
            epochs_done=epoch - 1, tasks=tuple(tasks), val_history=[r["val"] for r in records],
            loss_history=[r["train_loss"] for r in records[1:]]))
        batches = {t: int(round(57 * p)) for t, p in probs.items() if p > 0}
        records.append({"epoch": epoch, "probabilities": probs, "batches": batches,
                        "train_loss": {t: 1.0 / (epoch + 1) for t in batches}, "val": val,
                        "best_epoch": max(1, min(epoch, epochs - 2)) if epoch else None, "seconds": 0.1,
                        "elapsed": 0.1 * epoch})
    for r in records:
        rf.append_metrics(folder, r)
    rf.write_json(folder / rf.STATUS, {"state": state, "pid": 999_999_999, "host": "elsewhere",
                                           "epochs_done": epochs, "best_epoch": max(1, epochs - 2),
                                           "updated": time.time()})
    if test_accuracy is not None and state == "finished":
        rf.write_json(folder / rf.TEST, {"best_epoch": epochs - 2, "metrics": {
            "stress": {"accuracy": test_accuracy, "precision": 0.8, "recall": 0.7, "f1": 0.75},
            "activation": {"rmse": 1.0, "ccc": 0.3}}})
    return folder



@pytest.fixture
def runs_root(tmp_path, monkeypatch) -> Path:
    """An empty runs folder that the app and the library use (MUSER_RUNS_DIR)."""
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("MUSER_RUNS_DIR", str(root))
    return root


# --------------------------------------------------------------------------- real browser

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def server_studies(tmp_path_factory) -> Path:
    """The studies folder (MUSER_STUDIES_DIR) of the app that `streamlit_url` serves."""
    return tmp_path_factory.mktemp("studies")


@contextmanager
def serving_app(env: dict, log_path: Path):
    """`muser app` (as `make run` starts it) on a free localhost port; yields its URL, stops it after."""
    import sys
    import time
    import urllib.request

    port = _free_port()
    # The server's output goes to a file: an unread pipe fills up (64 KB) and blocks the server.
    log = open(log_path, "wb")  # noqa: SIM115 (closed at teardown)
    proc = subprocess.Popen([sys.executable, "-m", "muser_core", "app", "--port", str(port)],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    try:
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(log_path.read_text()) from None
                time.sleep(0.5)
        else:
            raise RuntimeError("streamlit did not start within 60 s:\n" + log_path.read_text()[-2000:])
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def app_env(tmp_path_factory, studies: Path) -> dict:
    import os

    return dict(os.environ, HF_HUB_OFFLINE="1",
                MUSER_RUNS_DIR=str(tmp_path_factory.mktemp("runs")), MUSER_STUDIES_DIR=str(studies),
                MUSER_CACHE_DIR=os.environ.get("MUSER_CACHE_DIR", str(REPO / ".cache" / "muser")))


@pytest.fixture(scope="session")
def streamlit_url(tmp_path_factory, server_studies):
    """The app served once for the session's browser tests."""
    with serving_app(app_env(tmp_path_factory, server_studies),
                     tmp_path_factory.mktemp("streamlit") / "server.log") as url:
        yield url


@contextmanager
def fake_microphone_page(clip: Path, height: int = 1000, timeout_ms: int = 120_000):
    """A Playwright page in Debian's chromium whose microphone plays ``clip`` (permission granted)."""
    from playwright.sync_api import sync_playwright

    args = CHROMIUM_ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                            f"--use-file-for-fake-audio-capture={clip}"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        context = browser.new_context(viewport={"width": 1400, "height": height})
        context.grant_permissions(["microphone"])
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        yield page
        browser.close()


@pytest.fixture
def browser_page(request):
    """A Playwright page in Debian's chromium; extra launch flags via @pytest.mark.chromium_args."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    marker = request.node.get_closest_marker("chromium_args")
    extra = list(marker.args) if marker else []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + extra)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        yield page
        browser.close()


# --------------------------------------------------------------------------- studies (muser_core.study)


def voiced_wav_bytes(seconds: float = 3.0, seed: int = 0, fmt: str = "WAV") -> bytes:
    """A voiced test signal encoded in memory (WAV, FLAC or OGG), as a browser or an upload gives it."""
    import io

    buffer = io.BytesIO()
    soundfile.write(buffer, voiced_signal(seconds, SR, seed=seed), SR, format=fmt)
    return buffer.getvalue()


def speech_wav_bytes(seconds: float = 3.0, seed: int = 0) -> bytes:
    """Real speech as a WAV in memory: the first ``seconds`` of one of the five LibriVox sentences (chosen by
    ``seed``) with a quiet seeded voiced tone added, so that every answer's features differ. Processing keeps
    only what the voice activity detector hears as speech: a bare tone is not an answer."""
    import io

    from muser_core.predict.samples import real_clips

    clips = real_clips()
    signal, sr = soundfile.read(clips[seed % len(clips)].path, dtype="float32")
    signal = signal[: int(seconds * sr)]
    signal = signal + 0.05 * voiced_signal(len(signal) / sr, sr, seed=seed)[: len(signal)]
    buffer = io.BytesIO()
    soundfile.write(buffer, signal, sr, format="WAV")
    return buffer.getvalue()


class TwoSentences:
    """A stand-in recogniser: two timed sentences per recording, whatever it hears (fast, deterministic)."""

    name = "two-sentences"

    def __init__(self, tag: str = "v1"):
        self.tag = tag

    def describe(self) -> dict:
        return {"recogniser": self.name, "model": self.tag}

    def recognise(self, signal, sample_rate=SR):
        from muser_core.audio.transcribe import Transcript, Word

        words = (Word("I", 0.2, 0.4), Word("am", 0.45, 0.7), Word("worried.", 0.75, 1.2),
                 Word("It", 1.6, 1.8), Word("is", 1.85, 2.0), Word("fine.", 2.05, 2.6))
        return Transcript(" ".join(w.text for w in words), words)


@pytest.fixture
def studies(tmp_path, monkeypatch, runs_root) -> Path:
    """An empty studies folder (MUSER_STUDIES_DIR), with its own feature cache and runs folder."""
    root = tmp_path / "studies"
    monkeypatch.setenv("MUSER_STUDIES_DIR", str(root))
    monkeypatch.setenv("MUSER_CACHE_DIR", str(tmp_path / "cache"))
    return root


def record_session(study, participant: str, condition: str, ratings=(5, 5), seed: int = 0):
    """A whole session through the library: every question answered (real speech, see speech_wav_bytes) and rated."""
    session = study.start_session(participant, condition, note=f"{condition} day")
    for q in range(1, len(session.questions) + 1):
        study.save_answer(participant, session.session, q, speech_wav_bytes(seed=seed + q))
        study.rate_answer(participant, session.session, q, *ratings)
    return study.session(participant, session.session)


def small_study(root: Path, people=("P01",), sessions_per_condition: int = 1, questions: int = 2):
    """Study "exam": each person has sessions of both conditions (stressed rated 7/3, not stressed 3/7)."""
    from muser_core.study.protocol import DEFAULT_QUESTIONS, StudySettings
    from muser_core.study.store import Study

    study = Study.create("exam", StudySettings(name="Exam week", questions=DEFAULT_QUESTIONS[:questions]),
                         parent=root)
    for p_i, pid in enumerate(people):
        study.add_participant(pid, consent=True)
        for n in range(sessions_per_condition):
            record_session(study, pid, "stressed", (7, 3), seed=100 * p_i + 10 * n)
            record_session(study, pid, "not stressed", (3, 7), seed=100 * p_i + 10 * n + 5)
    return study


# --------------------------------------------------------------------------- faults: full and read-only disks, kills

def run_with_file_limit(args: list[str], limit_bytes: int, **kwargs) -> subprocess.CompletedProcess:
    """Run ``args`` in a subprocess that cannot write any file past ``limit_bytes`` (a full disk, for it).

    The kernel's file-size limit (RLIMIT_FSIZE) makes every write beyond it
    fail with EFBIG, as a full disk fails with ENOSPC: no root, no mount, no
    code of the app changed. SIGXFSZ is ignored so the write fails instead
    of killing the process.
    """
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(args, preexec_fn=limit, capture_output=True, text=True, timeout=300, **kwargs)


def stray_temporaries(folder: Path) -> list[Path]:
    """Temporary files :func:`muser_core.base.files.temporary_path` names, left under ``folder``."""
    return sorted(p for p in Path(folder).rglob(".*.tmp"))


@contextmanager
def tmpfs(folder: Path, options: str, why_skipped: str):
    """``folder`` with a tmpfs mounted on it (root only), unmounted after; the test is skipped where it cannot be."""
    folder.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                                                   capture_output=True).returncode == 0
    if not mounted:
        pytest.skip(why_skipped)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


@pytest.fixture
def read_only_folder(tmp_path):
    """An empty folder no process can write to: a read-only tmpfs when run as root (root ignores modes)."""
    folder = tmp_path / "read-only"
    if os.geteuid() != 0:
        folder.mkdir(mode=0o555)
        yield folder
        folder.chmod(0o755)
        return
    with tmpfs(folder, "ro,size=1m", "cannot mount a read-only tmpfs here, and root ignores folder modes"):
        yield folder


@pytest.fixture
def small_disk(tmp_path):
    """A folder on a 1 MB tmpfs (a disk that fills up for real, ENOSPC); skipped where mounting is not allowed."""
    with tmpfs(tmp_path / "small-disk", "size=1m",
               "cannot mount a small tmpfs here (needs root); the RLIMIT_FSIZE tests cover the same writers") as folder:
        yield folder


def fill_disk(folder, leave_bytes: int = 0):
    """Fill the file system under ``folder`` until a write fails (ENOSPC), then free ``leave_bytes``."""
    filler = folder / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    with open(filler, "r+b") as handle:   # a shorter filler frees whole pages
        handle.truncate(max(filler.stat().st_size - leave_bytes, 0))


@pytest.fixture(scope="module")
def corpus_csv(tmp_path_factory):
    """The synthetic corpus (210 training items) as a CSV, once per test module (a module may define its own)."""
    path = tmp_path_factory.mktemp("corpus") / "synthetic.csv"
    synthetic_corpus().save(path)
    return str(path)
