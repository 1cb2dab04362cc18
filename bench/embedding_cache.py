"""What one cache miss costs as the sentence-vector cache grows: the SQLite store against a whole-file one.

The whole-file store is one ``.npz`` per model, read whole and rewritten whole on
every miss; the store in :class:`muser_core.features.text_encoder.EmbeddingCache`
inserts rows into SQLite. Both hold the same random 384-dimensional float32
vectors (MiniLM's size) at three sizes; each round adds one new vector and
reads back a batch of 64 (a training run's lookups), the two stores taking
turns in one run so the machine's load falls on both. Prints the medians,
the ratio whole-file / SQLite and the growth from the smallest to the largest size.

    python bench/embedding_cache.py [--sizes 2300,37000,100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from muser_core.features.text_encoder import EmbeddingCache  # noqa: E402

DIM = 384


class WholeFileStore:
    """A whole-file store, for comparison: load every vector, add the new ones, write the file again."""

    def __init__(self, file: Path):
        self.file = file

    def load(self) -> dict[str, np.ndarray]:
        try:
            with np.load(self.file) as npz:
                return dict(zip(npz["keys"].tolist(), npz["vectors"], strict=True))
        except OSError:
            return {}

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        merged = {**self.load(), **vectors}
        with open(self.file, "wb") as handle:
            np.savez(handle, keys=np.array(list(merged)), vectors=np.stack(list(merged.values())))

    def get(self, keys: list[str]) -> dict[str, np.ndarray]:
        stored = self.load()
        return {k: stored[k] for k in keys if k in stored}


def vectors(n: int, start: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {f"{start + i:064x}": rng.normal(size=DIM).astype(np.float32) for i in range(n)}


def seconds(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2300,37000,100000")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            folder = Path(tmp) / str(size)
            folder.mkdir()
            old, new = WholeFileStore(folder / "old.npz"), EmbeddingCache("new", folder)
            filled = vectors(size, 0, rng)
            old.put(filled)
            new.put(filled)
            lookup = list(filled)[:: max(1, size // 64)][:64]
            times = {"old miss": [], "new miss": [], "old get": [], "new get": []}
            for r in range(args.rounds):
                one = vectors(1, size + r, rng)
                for name, store in (("old", old), ("new", new)):   # taking turns: the same load on both
                    times[f"{name} miss"].append(seconds(lambda s=store, o=one: s.put(o)))
                    times[f"{name} get"].append(seconds(lambda s=store, keys=lookup: s.get(keys)))
            medians = {k: statistics.median(v) * 1000 for k, v in times.items()}
            rows.append((size, medians))
            print(f"{size:>7,} entries: add one vector old {medians['old miss']:8.1f} ms, new "
                  f"{medians['new miss']:6.2f} ms ({medians['old miss'] / medians['new miss']:6.1f}x); "
                  f"read 64 old {medians['old get']:8.1f} ms, new {medians['new get']:6.2f} ms "
                  f"({medians['old get'] / medians['new get']:6.1f}x)")
    (small, first), (large, last) = rows[0], rows[-1]
    print(f"growth from {small:,} to {large:,} entries ({large / small:.0f}x the entries): "
          f"add one vector old {last['old miss'] / first['old miss']:.1f}x, new {last['new miss'] / first['new miss']:.1f}x; "
          f"read 64 old {last['old get'] / first['old get']:.1f}x, new {last['new get'] / first['new get']:.1f}x")


if __name__ == "__main__":
    main()
