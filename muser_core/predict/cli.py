"""``muser predict``: stress, activation and valence for one voice clip, as one JSON object.

    muser predict --audio FILE [--transcript TEXT] [--baseline FILE ...] [--checkpoint DIR]
        [--recogniser whisper|pocketsphinx] [--asr-model CTRANSLATE2_WHISPER_FOLDER]

The audio and the model folder are checked before the (slower) model load, so
bad input fails at once with one line.
"""

from __future__ import annotations

import argparse
import json

from transformers.utils import logging as hf_logging

from muser_core.audio.transcribe import DEFAULT_RECOGNISER, RECOGNISERS, get_recogniser
from muser_core.audio.vad import warm_up as warm_up_vad
from muser_core.predict.clip import make_baseline, prepare_clip
from muser_core.predict.load import check_model_folder, load_predictor
from muser_core.predict.run_model import DEFAULT_CHECKPOINT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``muser predict``'s flags."""
    parser.add_argument("--audio", required=True, help="WAV, FLAC, OGG (or mp4/WebM) clip")
    parser.add_argument("--transcript", help="use this transcript instead of speech recognition")
    parser.add_argument("--baseline", nargs="*", default=[], help="relaxed clips of the same speaker")
    parser.add_argument("--checkpoint", help=f"a run folder or a personal model's folder (default: {DEFAULT_CHECKPOINT})")
    parser.add_argument("--recogniser", choices=list(RECOGNISERS), default=DEFAULT_RECOGNISER,
                        help=f"speech recogniser (default: {DEFAULT_RECOGNISER})")
    parser.add_argument("--asr-model", help="a local CTranslate2 Whisper folder (with --recogniser whisper)")


def run(args: argparse.Namespace) -> int:
    # Check the audio and the run folder before the (slower) model load, so bad input fails at once.
    warm_up_vad()  # so the clip's "vad" timing is the steady one, as on the page
    clip = prepare_clip(args.audio)
    baseline_clips = [prepare_clip(path) for path in args.baseline]
    baseline = make_baseline(baseline_clips, names=list(args.baseline))
    check_model_folder(args.checkpoint)
    recogniser = get_recogniser(args.recogniser, args.asr_model)
    hf_logging.disable_progress_bar()  # one JSON object on stdout, nothing else on stderr
    predictor = load_predictor(args.checkpoint, recogniser)
    predictor.warm_up()  # so the timings mean what the page's mean: with the model loaded
    result = predictor.predict(clip, args.transcript, baseline)
    print(json.dumps(result.to_json(), indent=2))
    return 0
