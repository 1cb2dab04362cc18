"""Time LIWC-style text features on 100k sentences (target: under 60 s on 2 cores).

Sentences are drawn with a fixed seed from a fixed spoken-English vocabulary
(fillers, contractions, emotion and topic words, numbers, unknown words), 5 to 25
words each, so most tokens repeat, as in real transcripts, and some are new.
Prints sentences per second and whether the target is met.

    python bench/text_features.py [--sentences 100000] [--dic PATH]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from muser_core.features.lexicon import Lexicon, default_lexicon  # noqa: E402
from muser_core.features.text import extract_features  # noqa: E402

TARGET_SECONDS = 60.0
TARGET_SENTENCES = 100_000

VOCABULARY = """
i you we they he she it the a an and but so because um uh er hmm like you know i mean
i'm don't can't it's that's gonna wanna kinda yeah okay lol really very just not never
happy sad worried angry love hate nervous stressed excited tired calm great awful
think know guess maybe always definitely should would could feel felt see heard
exam study class professor homework deadline job money rent family mom dad friend
roommate home kitchen eat pizza coffee sleep doctor sick church died party movie
went ran had was were will soon tomorrow yesterday today now week year morning
in on at up down over under around near far big small first two 2019 3.5 10pm
zorblat quixotic flibber snarfle wug blicket
""".split()


def make_sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    sentences = []
    for k in range(n):
        words = rng.choices(VOCABULARY, k=rng.randint(5, 25))
        words.append(f"word{k % 5000}")  # a trickle of new tokens, as real text has
        sentences.append(" ".join(words).capitalize() + rng.choice([".", "?", "!", ""]))
    return sentences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=TARGET_SENTENCES)
    parser.add_argument("--dic", help="a .dic file (default: the open MUSER dictionary)")
    args = parser.parse_args(argv)

    lexicon = Lexicon.read_dic(args.dic) if args.dic else default_lexicon()
    sentences = make_sentences(args.sentences)
    start = time.perf_counter()
    frame = extract_features(sentences, lexicon, wps=True)
    seconds = time.perf_counter() - start

    rate = len(sentences) / seconds
    projected = TARGET_SENTENCES / rate
    print(f"{len(sentences)} sentences, {int(frame['WC'].sum())} words, "
          f"{len(lexicon.categories)} categories: {seconds:.2f} s, {rate:,.0f} sentences/s")
    verdict = "meets" if projected < TARGET_SECONDS else "MISSES"
    print(f"100k sentences take about {projected:.1f} s: {verdict} the < {TARGET_SECONDS:.0f} s target")
    return 0 if projected < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
