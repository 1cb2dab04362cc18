"""Build the SYNTHETIC demo corpus in data/demo/ (MuSE-shaped, plus an OMG-Emotion-shaped external set).

Nothing here is real speech from real people: the text is scripted
(``scripts/demo_corpus_text.py``) and spoken by espeak-ng with per-speaker
voice settings, then changed per speaker, session and sentence with numpy/scipy
(vocal-tract length, channel, vocal effort, breathiness, tremor, gain, noise).
The same ``--seed`` rebuilds the same corpus (text, labels and audio bytes, for a
given espeak-ng and openSMILE version).

Shape (MuSE, Jaiswal et al. 2020; MUSER paper 3.1): 28 speakers (9 female, 19
male), a stressed and a not-stressed session each, five questions per session
answered by a monologue, each monologue split into sentences; 2,326 sentences
= 1,853 / 200 / 273. Self-reported activation and valence on 1..9 per monologue.

Planted effects (sizes in :class:`Effects`): stressed speech is higher, more
variable in pitch, louder, faster, with more vocal effort and shorter pauses;
stressed text has more non-fluencies, negative, anxiety, health and body words
and fewer positive words. Speakers differ more than sessions do.

Usage::

    sudo apt-get install espeak-ng
    .venv/bin/python scripts/make_demo_corpus.py [--seed 7] [--workers 2]
    .venv/bin/python scripts/make_demo_corpus.py --speakers 2 --sentences 40 --external 10 --out /tmp/demo
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile
import soxr
from scipy import signal as sps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere
sys.path.insert(0, str(Path(__file__).resolve().parent))

import demo_corpus_text as bank  # noqa: E402

from muser_core.audio.decode import TARGET_SR  # noqa: E402
from muser_core.data import demo  # noqa: E402
from muser_core.data.corpus import canonical  # noqa: E402
from muser_core.data.demo import DEMO_DIR  # noqa: E402
from muser_core.data.splits import PAPER_SPLIT_SIZES, paper_split, speaker_independent_split  # noqa: E402
from muser_core.features.acoustic import EGEMAPS_FEATURES, extract_egemaps  # noqa: E402

GENERATOR_VERSION = 1
LEVEL_DBFS = -30.0  # average speech level; speakers and sentences vary around it

# File names under --out: the ones muser_core/data/demo.py reads.
CORPUS_FILE, EXTERNAL_FILE = demo.CORPUS_FILE.name, demo.EXTERNAL_FILE.name
META_FILE, CLIPS_DIR = demo.META_FILE.name, demo.DEMO_CLIPS_DIR.name


@dataclass(frozen=True)
class Effects:
    """Planted effect sizes. ``s`` = stressed (0/1) times the speaker's reactivity; a, v = label - 5."""

    # Self-reports (1..9 points) -------------------------------------------------
    stress_activation: float = 1.1   # stressed sessions report higher activation ...
    stress_valence: float = -1.3     # ... and lower valence
    label_noise: float = 1.2         # sd of a monologue's self-report around its expected value
    # Speech, per sentence --------------------------------------------------------
    stress_pitch: float = 4.0        # espeak -p units (~0.17 semitone each)
    stress_range: float = 0.25       # relative increase of the pitch range (SSML prosody range)
    stress_speed: float = 9.0       # words per minute
    stress_gain_db: float = 1.2      # level
    stress_effort: float = 0.12      # pre-emphasis mix: flatter spectral slope, higher alpha ratio
    stress_gap: float = -0.7         # espeak -g word gap (10 ms units): shorter pauses
    stress_tremor: float = 0.04      # depth of a 5-9 Hz amplitude tremor (more variable loudness)
    activation_gain_db: float = 1.2  # per activation point
    activation_speed: float = 4.0    # wpm per activation point
    activation_breath: float = -0.25  # log breath-noise level per point: higher activation, higher HNR
    valence_pitch: float = 2.0       # espeak -p units per valence point
    valence_tract: float = 0.004     # relative formant raise per valence point ("smiling" voice)
    # Sentence-to-sentence noise (sd) ---------------------------------------------
    jitter_pitch: float = 5.0
    jitter_speed: float = 10.0
    jitter_gain_db: float = 2.5
    jitter_range: float = 0.2        # log scale
    jitter_snr_db: float = 4.0
    # Text, per clause (logits of the clause kind) and per sentence ------------------
    stress_anxious: float = 1.4
    stress_health: float = 1.2
    stress_negative: float = 0.4
    stress_positive: float = -0.7
    valence_positive: float = 0.45   # per valence point
    valence_negative: float = -0.35
    activation_lively: float = 0.5   # per activation point (events, people, money)
    activation_calm: float = -0.5    # quiet, still, slow clauses
    stress_nonflu: float = 1.3       # relative increase of the non-fluency rate


EFFECTS = Effects()

# Shifts of each question's expected self-report (activation, valence).
QUESTION_SHIFTS = {"Q1": (0.0, 0.0), "Q2": (0.3, 1.3), "Q3": (0.6, -1.4), "Q4": (0.4, 0.3),
                   "Q5": (-0.3, 1.0)}
BASE_KIND_LOGITS = {"neutral": 1.3, "positive": -0.4, "negative": -1.2, "anxious": -1.7,
                    "health": -1.8, "lively": -1.1, "calm": -1.1}
QUESTION_KIND_SHIFTS = {"Q2": {"positive": 0.5, "anxious": -0.6},
                        "Q3": {"anxious": 0.9, "negative": 0.4, "positive": -0.5}}

# espeak-ng voices: MuSE speakers use the numbered variants, the external set the named ones.
ACCENTS = ["en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd", "en-us-nyc"]
MALE_VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"]
FEMALE_VARIANTS = ["f1", "f2", "f3", "f4", "f5"]
EXTERNAL_VARIANTS = ["Alex", "Andy", "Annie", "anika", "aunty", "belinda", "benjamin", "caleb",
                     "david", "ed", "edward", "Gene", "john", "linda", "max", "Michael",
                     "norbert", "paul", "quincy", "rob", "robert", "steph", "travis", "victor",
                     "zac", "Lee", "Mike", "shelby", "adam", "Andrea"]


# --------------------------------------------------------------------------- speakers and labels

def make_speakers(n: int, rng: np.random.Generator) -> list[dict]:
    """Voices and traits of ``n`` speakers; with 28, 9 are female as in MuSE."""
    n_female = round(n * 9 / 28)
    genders = np.array(["F"] * n_female + ["M"] * (n - n_female))
    rng.shuffle(genders)
    speakers = []
    for i, gender in enumerate(genders):
        variants = FEMALE_VARIANTS if gender == "F" else MALE_VARIANTS
        speakers.append({
            "speaker": f"{i + 1:02d}", "gender": str(gender),
            "voice": f"{ACCENTS[rng.integers(len(ACCENTS))]}+{variants[i % len(variants)]}",
            # Speaker differences are deliberately larger than the stress effect.
            "pitch": float(rng.uniform(20, 70)),
            "range": float(rng.uniform(0.7, 1.6)),
            "speed": float(rng.uniform(130, 190)),
            "gap": float(rng.uniform(0, 4)),
            "gain_db": float(np.clip(rng.normal(0, 7), -14, 10)),  # microphone distance and gain
            "tract": float(rng.uniform(0.93, 1.07)),      # vocal-tract length (formants and pitch)
            "effort": float(rng.uniform(0.0, 0.6)),
            "breath": float(rng.uniform(0.05, 0.35)),    # breathiness: lowers HNR
            "snr_db": float(rng.uniform(18, 38)),        # room and microphone
            "low_hz": float(rng.uniform(60, 250)),       # channel band
            "high_hz": float(rng.uniform(3800, 7500)),
            "nonflu": float(rng.uniform(0.15, 0.8)),     # non-fluencies per sentence, not stressed
            "reactivity": float(rng.uniform(0.3, 1.6)),  # how strongly this person shows stress
            "act_bias": float(rng.normal(0, 0.8)),
            "val_bias": float(rng.normal(0, 0.8)),
        })
    return speakers


def sentence_counts(n_monologues: int, total: int, rng: np.random.Generator) -> np.ndarray:
    """Sentences per monologue: varied (as real answers are), summing to exactly ``total``."""
    weights = rng.gamma(6.0, 1.0, n_monologues)
    counts = np.maximum(1, np.floor(weights / weights.sum() * total)).astype(int)
    while counts.sum() < total:
        counts[rng.integers(n_monologues)] += 1
    while counts.sum() > total:
        i = rng.integers(n_monologues)
        if counts[i] > 1:
            counts[i] -= 1
    return counts


def self_report(expected: float, rng: np.random.Generator) -> int:
    """A 1..9 self-report around an expected value."""
    return int(np.clip(np.rint(expected + rng.normal(0, EFFECTS.label_noise)), 1, 9))


def clause_kinds(stress: float, a: float, v: float, question: str, n: int,
                 rng: np.random.Generator) -> list[str]:
    """Draw ``n`` clause kinds from logits shifted by stress and the centred labels."""
    e = EFFECTS
    logits = dict(BASE_KIND_LOGITS)
    logits["anxious"] += e.stress_anxious * stress
    logits["health"] += e.stress_health * stress
    logits["negative"] += e.stress_negative * stress + e.valence_negative * v
    logits["positive"] += e.stress_positive * stress + e.valence_positive * v
    logits["lively"] += e.activation_lively * a
    logits["calm"] += e.activation_calm * a
    for kind, shift in QUESTION_KIND_SHIFTS.get(question, {}).items():
        logits[kind] += shift
    names = list(logits)
    p = np.exp([logits[k] for k in names])
    p /= p.sum()
    return [names[i] for i in rng.choice(len(names), size=n, p=p)]


def make_corpus_plan(n_speakers: int, n_sentences: int, seed: int) -> tuple[pd.DataFrame, list[dict]]:
    """Text, labels and voice settings of every sentence (no audio yet)."""
    rng = np.random.default_rng([seed, 1])
    speakers = make_speakers(n_speakers, rng)
    questions = list(bank.QUESTIONS)
    monologues = [(spk, stressed, q) for spk in speakers for stressed in (1, 0) for q in questions]
    counts = sentence_counts(len(monologues), n_sentences, rng)
    e = EFFECTS
    rows = []
    for (spk, stressed, q), n in zip(monologues, counts, strict=True):
        s = stressed * spk["reactivity"]  # physiological expression scales with reactivity
        qa, qv = QUESTION_SHIFTS[q]
        act = self_report(5 + e.stress_activation * stressed + spk["act_bias"] + qa, rng)
        val = self_report(5 + e.stress_valence * stressed + spk["val_bias"] + qv, rng)
        a, v = act - 5, val - 5
        session = f"{spk['speaker']}-{'S' if stressed else 'NS'}"
        for k in range(n):
            kinds = clause_kinds(stressed, a, v, q, 1 + int(rng.random() < 0.45), rng)
            text = bank.sentence(
                kinds, q,
                n_nonflu=int(rng.poisson(spk["nonflu"] * (1 + e.stress_nonflu * stressed))),
                n_filler=int(rng.poisson(0.15)), n_hedge=int(rng.poisson(0.1 + 0.1 * stressed)),
                rng=rng)
            rows.append({
                "utterance_id": f"{spk['speaker']}_{'S' if stressed else 'NS'}_{q}_{k + 1:02d}",
                "speaker": spk["speaker"], "dataset": "demo", "text": text,
                "stress": float(stressed), "activation": float(act), "valence": float(val),
                "gender": spk["gender"], "question": q, "session": session,
                "voice": spk["voice"],
                "pitch": spk["pitch"] + e.stress_pitch * s + e.valence_pitch * v
                + rng.normal(0, e.jitter_pitch),
                "range": spk["range"] * (1 + e.stress_range * s) * np.exp(rng.normal(0, e.jitter_range)),
                "speed": spk["speed"] + e.stress_speed * s + e.activation_speed * a
                + rng.normal(0, e.jitter_speed),
                "gap": spk["gap"] + e.stress_gap * s + rng.normal(0, 0.8),
                "gain_db": spk["gain_db"] + e.stress_gain_db * s + e.activation_gain_db * a
                + rng.normal(0, e.jitter_gain_db),
                "tract": spk["tract"] * (1 + e.valence_tract * v),
                "effort": spk["effort"] + e.stress_effort * s + rng.normal(0, 0.08),
                "breath": spk["breath"] * np.exp(e.activation_breath * a + rng.normal(0, 0.2)),
                "tremor": e.stress_tremor * s * rng.uniform(0.5, 1.5),
                "snr_db": spk["snr_db"] + rng.normal(0, e.jitter_snr_db),
                "low_hz": spk["low_hz"], "high_hz": spk["high_hz"],
                "seed": int(rng.integers(2**31)),
            })
    return pd.DataFrame(rows), speakers


def make_external_plan(n_clips: int, seed: int, per_video: int = 5) -> pd.DataFrame:
    """OMG-Emotion-shaped clips: other voices and topics, arousal and valence on 0..1, no stress."""
    rng = np.random.default_rng([seed, 2])
    topics = list(bank.EXTERNAL_TOPICS)
    n_videos = int(np.ceil(n_clips / per_video))
    # Whole videos go to one split, as in OMG-Emotion.
    video_split = rng.choice(["train", "validation", "test"], size=n_videos, p=[0.65, 0.15, 0.2])
    rows = []
    for i in range(n_videos):
        video = f"v{i + 1:03d}"
        topic = topics[rng.integers(len(topics))]
        voice = f"{ACCENTS[rng.integers(len(ACCENTS))]}+{EXTERNAL_VARIANTS[rng.integers(len(EXTERNAL_VARIANTS))]}"
        base = {"pitch": rng.uniform(15, 75), "speed": rng.uniform(130, 200),
                "gain_db": rng.normal(0, 4), "tract": rng.uniform(0.92, 1.08),
                "snr_db": rng.uniform(12, 35), "low_hz": rng.uniform(80, 300),
                "high_hz": rng.uniform(3500, 7800), "breath": rng.uniform(0.05, 0.35),
                "range": rng.uniform(0.7, 1.6), "gap": rng.uniform(0, 3), "effort": rng.uniform(0, 0.5)}
        video_arousal, video_valence = rng.beta(3, 3), rng.beta(3, 3)
        for k in range(per_video):
            if len(rows) >= n_clips:
                break
            ar = float(np.clip(video_arousal + rng.normal(0, 0.15), 0, 1))
            va = float(np.clip(video_valence + rng.normal(0, 0.18), 0, 1))
            p_pos = 1 / (1 + np.exp(-8 * (va - 0.6)))
            p_neg = 1 / (1 + np.exp(8 * (va - 0.4)))
            kind = ("positive" if rng.random() < p_pos else
                    "negative" if rng.random() < p_neg else "neutral")
            n_intense = int(rng.poisson(max(0.0, 2.0 * (ar - 0.4))))
            ca, cv = (ar - 0.5) * 8, (va - 0.5) * 8  # on the 1..9 scale's units, for shared effect sizes
            rows.append({
                "utterance_id": f"{video}/utterance_{k + 1}", "speaker": video,
                "dataset": "demo-external", "split": video_split[i],
                "text": bank.external_sentence(kind, topic, n_intense, rng),
                "stress": np.nan, "activation": round(ar, 4), "valence": round(va, 4),
                "emotion": _emotion(ar, va), "topic": topic, "voice": voice,
                "pitch": base["pitch"] + 1.5 * cv + 2.0 * ca + rng.normal(0, 4),
                "range": base["range"] * np.exp(0.08 * ca + rng.normal(0, 0.2)),
                "speed": base["speed"] + 6 * ca + rng.normal(0, 10),
                "gap": base["gap"] - 0.3 * ca + rng.normal(0, 0.8),
                "gain_db": base["gain_db"] + 1.2 * ca + rng.normal(0, 2),
                "tract": base["tract"] * (1 + 0.004 * cv),
                "effort": base["effort"] + 0.05 * ca + rng.normal(0, 0.08),
                "breath": base["breath"] * np.exp(-0.25 * ca + rng.normal(0, 0.2)),
                "tremor": 0.0, "snr_db": base["snr_db"] + rng.normal(0, 4),
                "low_hz": base["low_hz"], "high_hz": base["high_hz"],
                "seed": int(rng.integers(2**31)),
            })
    return pd.DataFrame(rows)


def _emotion(arousal: float, valence: float) -> str:
    """A categorical label like OMG-Emotion's EmotionMaxVote, read off arousal and valence."""
    if valence >= 0.6:
        return "surprise" if arousal >= 0.75 else "happy"
    if valence <= 0.4:
        return "anger" if arousal >= 0.55 else "sad" if arousal < 0.4 else "fear"
    return "neutral"


# --------------------------------------------------------------------------- audio

def render(job: dict) -> tuple[str, float]:
    """Speak one sentence with espeak-ng, shape it like a recording, write a 16 kHz WAV."""
    rng = np.random.default_rng(job["seed"])
    ssml = f'<speak><prosody range="{int(round(100 * job["range"]))}%">{job["text"]}</prosody></speak>'
    cmd = ["espeak-ng", "-m", "-v", job["voice"], "--stdout",
           "-p", str(int(np.clip(round(job["pitch"]), 0, 99))),
           "-s", str(int(np.clip(round(job["speed"]), 80, 400))),
           "-g", str(int(np.clip(round(job["gap"]), 0, 20))), ssml]
    wav = subprocess.run(cmd, capture_output=True, check=True).stdout
    x, sr = soundfile.read(io.BytesIO(wav), dtype="float64")
    # Vocal-tract length: reading the signal at a scaled rate moves formants and pitch together.
    x = soxr.resample(x, sr * job["tract"], TARGET_SR)
    x /= np.max(np.abs(x)) + 1e-9
    # Vocal effort: mixing in the first difference flattens the spectral slope (alpha ratio, Hammarberg).
    x = x + job["effort"] * np.diff(x, prepend=0.0) * 4.0
    # Breathiness: noise that follows the speech envelope lowers the harmonics-to-noise ratio.
    envelope = sps.filtfilt(*sps.butter(2, 30, fs=TARGET_SR), np.abs(x))
    breath = sps.lfilter(*sps.butter(2, 1500, "highpass", fs=TARGET_SR), rng.normal(size=len(x)))
    x = x + job["breath"] * 3.0 * np.clip(envelope, 0, None) * breath
    if job["tremor"] > 0:
        t = np.arange(len(x)) / TARGET_SR
        x *= 1 + job["tremor"] * np.sin(2 * np.pi * rng.uniform(5, 9) * t + rng.uniform(0, 6.3))
    # The speaker's channel (microphone and room): a band-pass.
    x = sps.sosfilt(sps.butter(2, [job["low_hz"], job["high_hz"]], "bandpass", fs=TARGET_SR,
                               output="sos"), x)
    # Level, then pads of room tone and background noise at the sentence's SNR.
    rms = np.sqrt(np.mean(x ** 2)) + 1e-12
    x *= 10 ** ((LEVEL_DBFS + job["gain_db"]) / 20) / rms
    pad = [np.zeros(int(TARGET_SR * rng.uniform(0.1, 0.4))) for _ in range(2)]
    x = np.concatenate([pad[0], x, pad[1]])
    noise = sps.lfilter([1.0], [1.0, -0.95], rng.normal(size=len(x)))  # reddish room noise
    noise *= 10 ** ((LEVEL_DBFS + job["gain_db"] - job["snr_db"]) / 20) / (np.sqrt(np.mean(noise ** 2)) + 1e-12)
    x = np.clip(x + noise, -0.99, 0.99)
    soundfile.write(job["path"], x.astype(np.float32), TARGET_SR, subtype="PCM_16")
    return job["path"], len(x) / TARGET_SR


def render_all(plan: pd.DataFrame, folder: Path, workers: int) -> list[float]:
    """Render every row of a plan into ``folder``; returns durations in plan order."""
    jobs = [dict(rec, path=str(folder / (rec["utterance_id"].replace("/", "__") + ".wav")))
            for rec in plan.to_dict("records")]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(render, jobs, chunksize=16))
    else:
        results = [render(j) for j in jobs]
    return [d for _, d in results]


# --------------------------------------------------------------------------- build

PLAN_ONLY = ["voice", "pitch", "range", "speed", "gap", "gain_db", "tract", "effort", "breath",
             "tremor", "snr_db", "low_hz", "high_hz", "seed"]


def build(out: Path, seed: int, workers: int, n_speakers: int, n_sentences: int,
          n_external: int, n_clips: int, use_cache: bool) -> dict:
    """Plan, speak, extract features, split and write the corpus; returns timings and counts."""
    timings: dict = {}
    t0, cpu0 = time.perf_counter(), _cpu_seconds()
    load_at_start = os.getloadavg()[0]
    plan, speakers = make_corpus_plan(n_speakers, n_sentences, seed)
    external = make_external_plan(n_external, seed)
    timings["plan_s"] = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="muser-demo-") as tmp:
        tmp = Path(tmp)
        (tmp / "corpus").mkdir()
        (tmp / "external").mkdir()
        t = time.perf_counter()
        plan["duration"] = render_all(plan, tmp / "corpus", workers)
        external["duration"] = render_all(external, tmp / "external", workers)
        timings["speech_s"] = time.perf_counter() - t
        print(f"spoke {len(plan)} + {len(external)} sentences in {timings['speech_s']:.0f} s", flush=True)

        t = time.perf_counter()
        tables = []
        for name, table in (("corpus", plan), ("external", external)):
            paths = [str(tmp / name / (u.replace("/", "__") + ".wav")) for u in table["utterance_id"]]
            feats, skipped = extract_egemaps(paths, workers=workers, use_cache=use_cache)
            if skipped:
                raise RuntimeError(f"eGeMAPS failed on {len(skipped)} files: {skipped[0].reason}")
            table = pd.concat([table.reset_index(drop=True),
                               feats.reset_index(drop=True)[EGEMAPS_FEATURES]], axis=1)
            table["_wav"] = paths
            tables.append(table)
        plan, external = tables
        timings["egemaps_s"] = time.perf_counter() - t
        print(f"extracted eGeMAPS in {timings['egemaps_s']:.0f} s", flush=True)

        plan["split_speaker"] = speaker_independent_split(plan, seed).to_numpy()
        plan["split_paper"] = paper_split(plan, seed).to_numpy()
        plan["split"] = plan["split_speaker"]

        if out.exists():
            for old in (out / CLIPS_DIR).glob("*.wav"):
                old.unlink()
        (out / CLIPS_DIR).mkdir(parents=True, exist_ok=True)
        clips = pick_clips(plan, n_clips, seed)
        for wav, uid in zip(plan.loc[clips, "_wav"], plan.loc[clips, "utterance_id"], strict=True):
            shutil.copyfile(wav, out / CLIPS_DIR / f"{uid}.wav")
        plan["audio_clip"] = ""
        plan.loc[clips, "audio_clip"] = [f"{CLIPS_DIR}/{u}.wav" for u in plan.loc[clips, "utterance_id"]]

    corpus = canonical(plan.drop(columns=PLAN_ONLY + ["_wav"]))
    # audio_path is made absolute at load time from audio_clip (muser_core/demo.py).
    corpus = corpus.drop(columns=["audio_path"])
    corpus = corpus[[c for c in corpus.columns if c not in EGEMAPS_FEATURES] + EGEMAPS_FEATURES]
    ext = canonical(external.drop(columns=PLAN_ONLY + ["_wav"])).drop(columns=["audio_path"])
    corpus.to_csv(out / CORPUS_FILE, index=False, float_format="%.6g")
    ext.to_csv(out / EXTERNAL_FILE, index=False, float_format="%.6g")
    meta = {
        "synthetic": True,
        "description": "SYNTHETIC demo corpus: scripted text spoken by espeak-ng. Not real speech, "
                       "not real people, not MuSE or OMG-Emotion data.",
        "generator": "scripts/make_demo_corpus.py", "generator_version": GENERATOR_VERSION,
        "seed": seed, "espeak_ng": _espeak_version(),
        "questions": bank.QUESTIONS, "effects": asdict(EFFECTS),
        "speakers": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in s.items()}
                     for s in speakers],
        "counts": {"sentences": len(corpus), "external": len(ext), "clips": len(clips)},
        "n_speakers": len(speakers), "n_female": sum(s["gender"] == "F" for s in speakers),
    }
    timings["total_s"] = time.perf_counter() - t0
    timings["cpu_s"] = _cpu_seconds() - cpu0  # load-independent: what an idle machine needs in all
    timings["workers"] = workers
    timings["conditions"] = (f"{os.cpu_count()} CPU cores, load average {load_at_start:.1f} at the start "
                             f"and {os.getloadavg()[0]:.1f} at the end (other jobs shared the machine)")
    meta["timings"] = {k: (round(v, 1) if isinstance(v, float) else v) for k, v in timings.items()}
    (out / META_FILE).write_text(json.dumps(meta, indent=1))
    return {"timings": timings, "corpus": corpus, "external": ext}


# --------------------------------------------------------------------------- figures for the data card

STRESS_SIGNS = {  # eGeMAPS feature -> what it stands for in the data card
    "F0semitoneFrom27.5Hz_sma3nz_amean": "pitch (F0 mean)",
    "F0semitoneFrom27.5Hz_sma3nz_stddevNorm": "pitch variability",
    "loudness_sma3_amean": "loudness",
    "VoicedSegmentsPerSec": "speech rate (voiced segments/s)",
    "spectralFlux_sma3_amean": "spectral flux",
    "MeanUnvoicedSegmentLength": "pause length (unvoiced segments)",
    "alphaRatioV_sma3nz_amean": "alpha ratio (vocal effort)",
    "HNRdBACF_sma3nz_amean": "HNR",
}
LEXICAL_SIGNS = ["nonflu", "negemo", "anx", "sad", "anger", "bio", "health", "body", "posemo", "social", "achieve"]


def _fit_score(x: pd.DataFrame, y: pd.Series, train: pd.Series, test: pd.Series) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if not train.any() or not test.any() or y[train].nunique() < 2:
        return float("nan")  # tiny builds: a split may be empty
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000))
    model.fit(x[train], y[train])
    return float(model.score(x[test], y[test]))


def _grouped_cv(x: pd.DataFrame, y: pd.Series, groups: pd.Series, folds: int = 7) -> float:
    """Mean accuracy over folds of whole speakers: steadier than one 3-speaker test split."""
    from sklearn.model_selection import GroupKFold

    scores = [_fit_score(x, y, pd.Series(np.isin(np.arange(len(y)), tr)),
                         pd.Series(np.isin(np.arange(len(y)), te)))
              for tr, te in GroupKFold(n_splits=min(folds, groups.nunique())).split(x, y, groups)]
    return float(np.mean(scores))


def _partial_r(x: pd.Series, y: pd.Series, control: pd.Series) -> float:
    """Correlation of x and y after removing what ``control`` explains linearly from each."""
    c = np.column_stack([np.ones(len(control)), control.to_numpy(float)])

    def resid(v):
        v = v.to_numpy(float)
        return v - c @ np.linalg.lstsq(c, v, rcond=None)[0]
    return float(np.corrcoef(resid(x), resid(y))[0, 1])


def measure(corpus: pd.DataFrame, external: pd.DataFrame) -> dict:
    """Separability and effect figures written into data/demo/README.md."""
    from muser_core.features.normalise import speaker_zscore
    from muser_core.features.text import extract_features

    t = corpus.reset_index(drop=True)
    y = t["stress"].astype(int)
    raw = t[EGEMAPS_FEATURES]
    z = speaker_zscore(raw, t["speaker"])
    text = extract_features(t["text"])
    text = text.loc[:, text.std() > 0]
    views = {"acoustic_z": z, "acoustic_raw": raw, "text": text}
    figures: dict = {"accuracy": {}}
    for name, x in views.items():
        row = {}
        for split in ("split_speaker", "split_paper"):
            row[split] = _fit_score(x, y, t[split] == "train", t[split] == "test")
        row["speaker_cv"] = _grouped_cv(x, y, t["speaker"])
        figures["accuracy"][name] = row
    figures["majority"] = float(max(y.mean(), 1 - y.mean()))
    mono = t.groupby(["session", "question"])[["stress", "activation", "valence"]].first()
    figures["label_r"] = {"stress_activation": float(mono.corr().loc["stress", "activation"]),
                          "stress_valence": float(mono.corr().loc["stress", "valence"]),
                          "activation_valence": float(mono.corr().loc["activation", "valence"])}
    figures["label_means"] = mono.groupby("stress")[["activation", "valence"]].mean().round(2).to_dict()
    figures["stress_acoustic_r"] = {f: float(np.corrcoef(z[f], y)[0, 1]) for f in STRESS_SIGNS}
    figures["stress_acoustic_r_raw"] = {f: float(np.corrcoef(raw[f], y)[0, 1]) for f in STRESS_SIGNS}
    # Own signs of activation and valence: partial correlations controlling for stress.
    figures["activation_acoustic_partial_r"] = {
        f: _partial_r(z[f], t["activation"], t["stress"]) for f in STRESS_SIGNS}
    figures["valence_acoustic_partial_r"] = {
        f: _partial_r(z[f], t["valence"], t["stress"]) for f in STRESS_SIGNS}
    full_text = extract_features(t["text"])
    figures["lexical_means"] = {c: full_text[c].groupby(y).mean().round(2).to_dict() for c in LEXICAL_SIGNS}
    figures["valence_lexical_partial_r"] = {
        c: _partial_r(full_text[c], t["valence"], t["stress"]) for c in ("posemo", "negemo")}
    figures["activation_lexical_partial_r"] = {
        c: _partial_r(full_text[c], t["activation"], t["stress"]) for c in ("achieve", "money", "leisure")}
    # Speaker differences against the stress effect, for two headline features.
    figures["speaker_vs_stress"] = {
        f: {"speaker_sd": float(t.groupby("speaker")[f].mean().std()),
            "stress_diff": float(t.groupby("speaker").apply(
                lambda g, f=f: g.loc[g.stress == 1, f].mean() - g.loc[g.stress == 0, f].mean(),
                include_groups=False).mean())}
        for f in ("F0semitoneFrom27.5Hz_sma3nz_amean", "loudness_sma3_amean")}
    if len(external) > 10:
        e = external.reset_index(drop=True)
        ez = speaker_zscore(e[EGEMAPS_FEATURES], e["speaker"])
        et = extract_features(e["text"])
        figures["external_r"] = {
            "arousal_loudness": float(np.corrcoef(ez["loudness_sma3_amean"], e["activation"])[0, 1]),
            "arousal_rate": float(np.corrcoef(ez["VoicedSegmentsPerSec"], e["activation"])[0, 1]),
            "valence_pitch": float(np.corrcoef(ez["F0semitoneFrom27.5Hz_sma3nz_amean"], e["valence"])[0, 1]),
            "valence_posemo": float(np.corrcoef(et["posemo"], e["valence"])[0, 1]),
            "valence_negemo": float(np.corrcoef(et["negemo"], e["valence"])[0, 1]),
            "arousal_valence": float(np.corrcoef(e["activation"], e["valence"])[0, 1]),
        }
    return figures


def write_card(out: Path, figures: dict, meta: dict) -> None:
    """data/demo/README.md: the data card, with the figures measured on the tables just written."""
    acc, e, c = figures["accuracy"], EFFECTS, meta["counts"]
    t = meta.get("timings", {})

    def row(name, label):
        a = acc[name]
        return (f"| {label} | {a['split_speaker']:.3f} | {a['split_paper']:.3f} | "
                f"{a['speaker_cv']:.3f} |")

    def signs(d):
        return "\n".join(f"| {STRESS_SIGNS[f]} | `{f}` | {v:+.2f} |" for f, v in d.items())

    lr = figures["label_r"]
    lm = figures["label_means"]
    lex = figures["lexical_means"]
    svs = figures["speaker_vs_stress"]
    ext = figures.get("external_r", {})
    sizes = {p.name: p.stat().st_size for p in out.glob("*") if p.is_file()}
    clip_bytes = sum(p.stat().st_size for p in (out / CLIPS_DIR).glob("*.wav"))
    text = f"""# Demo corpus: SYNTHETIC data

> **Everything in this folder is synthetic.** The sentences are scripted text
> spoken by the espeak-ng speech synthesiser; no real person said them, and
> nothing here comes from MuSE or OMG-Emotion. The labels are drawn by a
> program, not reported by anyone. Use the corpus to try the app, never to
> draw conclusions about stress or emotion in people.

It exists so that the app shows every page on first launch, where MuSE and
OMG-Emotion cannot be downloaded. `muser_core.demo.load_demo()` loads it through
the same canonical table as MuSE (`dataset="demo"`, `Corpus.synthetic=True`);
`load_demo_external()` loads the external set (`dataset="demo-external"`).
This card is written by the generator from the tables it has just built.

## Files

| file | what | size |
|---|---|---|
| `{CORPUS_FILE}` | MuSE-shaped sentences: text, labels, splits, 88 eGeMAPS features | {sizes.get(CORPUS_FILE, 0) / 1e6:.2f} MB |
| `{EXTERNAL_FILE}` | OMG-Emotion-shaped clips: text, arousal/valence, 88 eGeMAPS features | {sizes.get(EXTERNAL_FILE, 0) / 1e6:.2f} MB |
| `{META_FILE}` | seed, prompts, planted effect sizes, every speaker's voice settings | {sizes.get(META_FILE, 0) / 1e3:.0f} kB |
| `{CLIPS_DIR}/*.wav` | {c['clips']} sample clips (16 kHz mono 16-bit), both sessions of several speakers | {clip_bytes / 1e6:.2f} MB |

Only these clips are kept; the other sentences ship as features and text
(their `audio_path` is empty). The clips are the exact files the features came from.

## Shape (as MuSE; MUSER paper, section 3.1)

- {meta['n_speakers']} speakers ({meta['n_female']} female, {meta['n_speakers'] - meta['n_female']} male), each with a
  stressed (`S`) and a not-stressed (`NS`) session; five questions per session,
  each answered by a monologue split into sentences: {c['sentences']} sentences.
- Splits: `split_paper` has the paper's 1,853 / 200 / 273 sentences (stratified
  by stress; a speaker appears in several splits, as in the paper);
  `split_speaker` puts whole speakers in train / validation / test
  (no speaker in two splits). `split` is one of them (`load_demo(split=...)`).
- `activation` and `valence`: the monologue's self-report on 1..9, the same for
  every sentence of the monologue (the paper's labels).
- Extra columns: `gender`, `question` (Q1..Q5), `session` (`<speaker>-S`/`-NS`),
  `duration` (s), `split_speaker`, `split_paper`, `audio_clip` (relative path or empty),
  then the 88 eGeMAPSv02 functionals named as openSMILE names them.
- External set: {c['external']} clips in videos of 5 (`speaker` = video id, whole videos
  per split), other voices (espeak-ng's named variants) and other topics (movies,
  cooking, games, travel, tech, sports); `activation` = arousal and `valence` on
  0..1, no stress labels, plus `emotion` (read off arousal/valence) and `topic`.

The five prompts: {"; ".join(f"{k} {v}" for k, v in meta['questions'].items())}

## How it was generated

`scripts/make_demo_corpus.py --seed {meta['seed']}` (word and sentence banks in
`scripts/demo_corpus_text.py`), espeak-ng {meta['espeak_ng']}:

1. **Speakers.** Each gets an espeak-ng voice (accent + numbered variant
   m1..m8 / f1..f5), a pitch base, pitch range, speed, word gap, vocal-tract
   length (formants), microphone gain, channel band-pass, room noise,
   breathiness, vocal effort, a non-fluency habit, a reactivity to stress
   (0.3..1.6) and baseline moods. All per-speaker values are in `{META_FILE}`.
2. **Labels.** Per monologue: self-reported activation = 5 + {e.stress_activation} x stressed +
   speaker bias + question shift + noise (sd {e.label_noise}); valence likewise with
   {e.stress_valence} x stressed. Rounded and clipped to 1..9.
3. **Text.** Each sentence has one or two clauses whose kind (neutral, positive,
   negative, anxious, health/body, lively, calm) is drawn from weights moved by
   stress, valence and activation; non-fluencies (um, uh, er, erm, hmm),
   fillers and hedges are inserted at a rate set by the speaker and raised by stress.
4. **Speech.** espeak-ng speaks the sentence with the sentence's pitch, range
   (SSML prosody), speed and word gap; numpy/scipy then apply vocal-tract
   scaling, vocal effort (spectral tilt), envelope-following breath noise,
   a slight amplitude tremor when stressed, the speaker's channel, level, and
   room noise at a per-sentence SNR. Every sentence has its own seed.
5. **Features.** `muser_core.acoustic_features.extract_egemaps` (the project's one
   feature path), then the splits (`muser_core.corpus`), {c['clips']} clips kept.

### Planted effects (per sentence unless noted)

`s` = stressed x the speaker's reactivity; a, v = self-report - 5.

| cue | stressed | activation (per point) | valence (per point) | sentence noise (sd) |
|---|---|---|---|---|
| pitch (espeak -p, ~0.17 st/unit) | +{e.stress_pitch} x s | | +{e.valence_pitch} | {e.jitter_pitch} |
| pitch range | x(1 + {e.stress_range} s) | | | x exp(N(0, {e.jitter_range})) |
| speed (words/min) | +{e.stress_speed} x s | +{e.activation_speed} | | {e.jitter_speed} |
| level (dB) | +{e.stress_gain_db} x s | +{e.activation_gain_db} | | {e.jitter_gain_db} |
| vocal effort (tilt) | +{e.stress_effort} x s | | | 0.08 |
| word gap (10 ms units) | {e.stress_gap} x s | | | 0.8 |
| amplitude tremor depth | {e.stress_tremor} x s | | | |
| breath noise (log) | | {e.activation_breath} | | 0.2 |
| formants (vocal tract) | | | +{e.valence_tract * 100:.1f} % | |
| clause kind logits | anxious +{e.stress_anxious}, health +{e.stress_health}, negative +{e.stress_negative}, positive {e.stress_positive} | lively +{e.activation_lively}, calm {e.activation_calm} | positive +{e.valence_positive}, negative {e.valence_negative} | |
| non-fluency rate | x(1 + {e.stress_nonflu}) | | | Poisson |

Speakers differ by far more: pitch base 20..70 espeak units, speed 130..190
words/min, level sd 7 dB, plus voice, vocal tract +-7 %, channel and noise.

## Measured figures

Logistic regression (C = 0.1, standardised inputs) predicting stress;
test accuracy on each split and mean accuracy over 7 folds of whole speakers.
Majority class: {figures['majority']:.3f}.

| features | speaker-independent test | paper-split test | 7-fold by speaker |
|---|---|---|---|
{row('acoustic_z', '88 eGeMAPS, speaker z-normalised')}
{row('acoustic_raw', '88 eGeMAPS, not speaker-normalised')}
{row('text', 'text: open-lexicon category percentages')}

Speaker differences are larger than the stress effect: the sd of speaker means
of F0 is {svs['F0semitoneFrom27.5Hz_sma3nz_amean']['speaker_sd']:.2f} semitones against a mean stressed - not-stressed
difference of {svs['F0semitoneFrom27.5Hz_sma3nz_amean']['stress_diff']:.2f}; for loudness {svs['loudness_sma3_amean']['speaker_sd']:.3f} against {svs['loudness_sma3_amean']['stress_diff']:.3f}.

**Labels** (per monologue): r(stress, activation) = {lr['stress_activation']:+.2f},
r(stress, valence) = {lr['stress_valence']:+.2f}, r(activation, valence) = {lr['activation_valence']:+.2f}.
Mean activation {lm['activation'][0.0]:.2f} not stressed vs {lm['activation'][1.0]:.2f} stressed;
mean valence {lm['valence'][0.0]:.2f} vs {lm['valence'][1.0]:.2f}.

**Stress in speech**: correlation with stress (0/1), speaker-normalised features.

| cue | feature | r |
|---|---|---|
{signs(figures['stress_acoustic_r'])}

**Stress in words**: mean percentage of words per sentence, not stressed -> stressed.

{chr(10).join(f"- {k}: {v[0]:.2f} -> {v[1]:.2f}" for k, v in lex.items())}

**Activation and valence have their own signs** (partial correlations, stress held constant):

| cue | activation | valence |
|---|---|---|
{chr(10).join(f"| {STRESS_SIGNS[f]} | {figures['activation_acoustic_partial_r'][f]:+.2f} | {figures['valence_acoustic_partial_r'][f]:+.2f} |" for f in STRESS_SIGNS)}
| posemo words | | {figures['valence_lexical_partial_r']['posemo']:+.2f} |
| negemo words | | {figures['valence_lexical_partial_r']['negemo']:+.2f} |
| money words | {figures["activation_lexical_partial_r"]["money"]:+.2f} | |
| achieve words | {figures['activation_lexical_partial_r']['achieve']:+.2f} | |

**External set** (video-normalised features): {", ".join(f"r({k.replace('_', ', ')}) = {v:+.2f}" for k, v in ext.items())}.

Build time: {t.get('total_s', float('nan')) / 60:.1f} min wall-clock with {t.get('workers', '?')} workers
(speech {t.get('speech_s', float('nan')):.0f} s, eGeMAPS {t.get('egemaps_s', float('nan')):.0f} s) and
{t.get('cpu_s', float('nan')) / 60:.1f} min of CPU time in all; {t.get('conditions', '')}.
On two otherwise idle cores the build takes about half its CPU time.

## How to rebuild

```
sudo apt-get install espeak-ng          # sox is not needed
.venv/bin/python scripts/make_demo_corpus.py            # or: make demo-corpus
```

The same seed gives the same text, labels and splits; audio and features are
the same for the same espeak-ng and openSMILE versions. `--speakers 2
--sentences 40 --external 10 --out /tmp/demo` makes a small build in seconds.
`--card-only` rewrites this card from the tables already in `--out`.

## Licences

The text, labels and generator are part of this project. The audio is made by
espeak-ng (GPL-3.0; its output is not covered by the GPL). The eGeMAPS
features are extracted with openSMILE under audEERING's research licence
(non-commercial use).
"""
    (out / "README.md").write_text(text)


def write_card_from(out: Path) -> None:
    """Measure the tables in ``out`` and write its data card."""
    meta = json.loads((out / META_FILE).read_text())
    read = {"dtype": {"speaker": str, "utterance_id": str}, "keep_default_na": False, "na_values": [""]}
    corpus = pd.read_csv(out / CORPUS_FILE, **read)
    external = pd.read_csv(out / EXTERNAL_FILE, **read)
    write_card(out, measure(corpus, external), meta)


def pick_clips(plan: pd.DataFrame, n_clips: int, seed: int) -> list[int]:
    """A few sentences per session of a few speakers, test speakers first (for live prediction)."""
    rng = np.random.default_rng([seed, 3])
    per_session = 3
    speakers = list(plan.loc[plan["split_speaker"] == "test", "speaker"].unique())
    others = [s for s in plan["speaker"].unique() if s not in speakers]
    rng.shuffle(others)
    chosen: list[int] = []
    for spk in speakers + others:
        for stressed in (1.0, 0.0):
            rows = plan.index[(plan["speaker"] == spk) & (plan["stress"] == stressed)
                              & (plan["duration"].between(2.0, 4.5))]
            if len(rows) == 0:
                rows = plan.index[(plan["speaker"] == spk) & (plan["stress"] == stressed)]
            chosen += list(rng.choice(rows, size=min(per_session, len(rows)), replace=False))
        if len(chosen) >= n_clips:
            break
    return sorted(int(i) for i in chosen[:n_clips])


def _cpu_seconds() -> float:
    """CPU time of this process and every finished child (workers, espeak-ng)."""
    import resource

    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def _espeak_version() -> str:
    try:
        out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout
        return out.split(":")[1].split("Data")[0].strip()  # "eSpeak NG text-to-speech: 1.51  Data at: ..."
    except (OSError, IndexError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7, help="same seed, same corpus (default 7)")
    parser.add_argument("--out", type=Path, default=DEMO_DIR, help="output folder (default data/demo)")
    parser.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 1),
                        help="parallel processes for speech and features (default: all cores)")
    parser.add_argument("--speakers", type=int, default=28)
    parser.add_argument("--sentences", type=int, default=sum(PAPER_SPLIT_SIZES),
                        help="sentences in the MuSE-shaped corpus (default 2326 = 1853+200+273)")
    parser.add_argument("--external", type=int, default=1500, help="clips in the external set")
    parser.add_argument("--clips", type=int, default=36, help="WAV clips to keep")
    parser.add_argument("--no-cache", action="store_true", help="do not use the eGeMAPS disk cache")
    parser.add_argument("--no-card", action="store_true", help="skip measuring figures for README.md")
    parser.add_argument("--card-only", action="store_true",
                        help="only re-measure the tables in --out and rewrite its README.md")
    args = parser.parse_args(argv)
    if args.card_only:
        write_card_from(args.out)
        print(f"wrote {args.out / 'README.md'}")
        return 0
    if shutil.which("espeak-ng") is None:
        print("error: espeak-ng not found (sudo apt-get install espeak-ng)", file=sys.stderr)
        return 2
    result = build(args.out, args.seed, args.workers, args.speakers, args.sentences,
                   args.external, args.clips, use_cache=not args.no_cache)
    t = result["timings"]
    print(f"wrote {len(result['corpus'])} sentences, {len(result['external'])} external clips "
          f"to {args.out} in {t['total_s']:.0f} s (speech {t['speech_s']:.0f} s, "
          f"eGeMAPS {t['egemaps_s']:.0f} s, {args.workers} workers)")
    if not args.no_card:
        t1 = time.perf_counter()
        write_card_from(args.out)
        print(f"measured the figures and wrote {args.out / 'README.md'} in {time.perf_counter() - t1:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
