"""The text encoder reads safetensors weights only: a pickled checkpoint can run code when loaded."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from muser_core.base.errors import InputError, Notice
from muser_core.base.paths import CHECKOUT as REPO_ROOT
from muser_core.features.text_encoder import (
    EmbeddingCache,
    TextEncoder,
    cached_embeddings,
    default_model_path,
    resolve_model_path,
)


class Payload:
    """Unpickling this runs code: what a hostile pytorch_model.bin can do."""

    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('x')",))


@pytest.fixture
def pickled_model(tmp_path, monkeypatch):
    """A model folder as older tools save it: config, tokenizer and a pickled pytorch_model.bin."""
    folder = tmp_path / "bert"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
                 "special_tokens_map.json"):
        shutil.copy(default_model_path() / name, folder / name)
    torch.save({"payload": Payload()}, folder / "pytorch_model.bin")
    monkeypatch.chdir(tmp_path)
    return folder


def test_pickled_weights_are_refused_with_one_line(pickled_model, tmp_path):
    message = (f"{pickled_model}: holds pickled weights only (pytorch_model.bin), which can run code "
               "when loaded; only safetensors weights are read")
    with pytest.raises(InputError, match=f"^{re.escape(message)}"):
        resolve_model_path(pickled_model)
    with pytest.raises(InputError, match=f"^{re.escape(message)}"):
        TextEncoder(pickled_model)
    assert not (tmp_path / "PWNED").exists()


def test_a_folder_without_weights_is_one_line(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(InputError, match=r"no model weights \(\*\.safetensors\)"):
        resolve_model_path(tmp_path)


def test_the_default_model_has_safetensors():
    assert resolve_model_path("") == default_model_path()
    assert any(default_model_path().glob("*.safetensors"))


# Float32 matrix kernels sum in an order that depends on the batch's shape and on the CPU model: the same sentence
# alone or in a batch of 8 may differ in the last bits on one machine and not on another. Stated tolerance:
VECTOR_ATOL = 1e-5   # absolute, on MiniLM's unit-length vectors (observed differences are about 1e-7)


def test_a_sentences_vector_is_the_same_in_any_batch_within_tolerance_and_cached_bit_for_bit(tmp_path, monkeypatch):
    """What the app promises: across batches and machines a vector agrees within VECTOR_ATOL; once cached, a
    rerun reuses the stored vector exactly (the cache never recomputes a text it holds)."""
    texts = [f"I am {'really ' * (i % 5)}worried about exam {i}" for i in range(40)] + ["calm", "a day off"]
    encoder = TextEncoder()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as cached_embeddings computes them
    try:
        alone = np.stack([encoder.embed([t])[0] for t in texts])
        np.testing.assert_allclose(encoder.embed(texts, batch_size=8), alone, rtol=0, atol=VECTOR_ATOL)
        np.testing.assert_allclose(encoder.embed(texts[::-1], batch_size=64)[::-1], alone, rtol=0, atol=VECTOR_ATOL)
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setenv("MUSER_CACHE_DIR", str(tmp_path / "a"))
    fresh = cached_embeddings(texts)
    assert np.array_equal(cached_embeddings(texts), fresh)             # a rerun: the same bits
    np.testing.assert_allclose(fresh, alone, rtol=0, atol=VECTOR_ATOL)
    # Filling the cache in two steps: the vectors stored first are kept bit for bit, the rest agree within tolerance.
    monkeypatch.setenv("MUSER_CACHE_DIR", str(tmp_path / "b"))
    first = cached_embeddings(texts[::3])
    both = cached_embeddings(texts)
    assert np.array_equal(both[::3], first)
    np.testing.assert_allclose(both, fresh, rtol=0, atol=VECTOR_ATOL)


def test_the_share_of_texts_cut_at_max_length_is_counted_by_hand():
    """Texts cut at 128 tokens are counted and said, with their token-length distribution."""
    from muser_core.features.text_encoder import token_lengths, truncation_note

    texts = ["calm", "word " * 200, "two words"]
    lengths = token_lengths(texts)
    assert lengths[1] > 128 and lengths[0] < lengths[2] < 16   # [CLS] ... [SEP] included
    note = truncation_note(lengths, 128)
    assert note.startswith("text: 1 of 3 texts (33.3%) are longer than max length 128 tokens")
    assert f"longest {lengths.max()}" in note


def test_a_model_retrained_in_place_does_not_reuse_the_old_vectors(tmp_path, monkeypatch):
    """New weights of the same size get fresh vectors: the cache key hashes the weights, not their file size."""
    model = tmp_path / "model"
    shutil.copytree(default_model_path(), model)
    monkeypatch.setenv("MUSER_CACHE_DIR", str(tmp_path / "cache"))
    texts = ["We were worried about the exam.", "A quiet morning by the lake."]
    before = cached_embeddings(texts, model)
    weights = next(model.glob("*.safetensors"))
    size = weights.stat().st_size
    tensors = load_file(weights)
    name = next(n for n in tensors if n.endswith("attention.output.dense.weight"))
    tensors[name] = tensors[name] * 1.5       # "retrained": other values, the same shapes and file size
    save_file(tensors, weights, metadata={"format": "pt"})
    assert weights.stat().st_size == size
    after = cached_embeddings(texts, model)
    fresh = TextEncoder(model).embed(texts)
    np.testing.assert_allclose(after, fresh, atol=1e-5)
    assert np.abs(after - before).max() > 1e-3


# ---------------------------------------------------------------- the vector store

def _vectors(n: int, start: int = 0, dim: int = 384) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(start)
    return {f"k{start + i}": rng.normal(size=dim).astype(np.float32) for i in range(n)}


def test_the_store_adds_without_rewriting_and_gives_back_bit_for_bit(tmp_path):
    cache = EmbeddingCache("m", tmp_path)
    first, second = _vectors(3), _vectors(2, start=10)
    cache.put(first)
    size = cache.file.stat().st_size
    cache.put(second)
    got = cache.get([*first, *second, "absent"])
    assert set(got) == {*first, *second}
    for key, vector in {**first, **second}.items():
        np.testing.assert_array_equal(got[key], vector)
    assert cache.file.stat().st_size >= size and cache.forget({"k0", "k10", "absent"}) == 2
    assert set(cache.get([*first, *second])) == {"k1", "k2", "k11"}


_WRITER = """
import sys, numpy as np
from pathlib import Path
from muser_core.features.text_encoder import EmbeddingCache
cache, start, rounds = EmbeddingCache("m", Path(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
for r in range(rounds):
    cache.put({f"k{start + 10 * r + i}": np.full(384, start + 10 * r + i, np.float32) for i in range(10)})
    print(r, flush=True)
"""


def test_two_writers_at_once_lose_nothing_and_a_kill_leaves_whole_rows(tmp_path):
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), str(s), "20"], cwd=REPO_ROOT)
               for s in (0, 100_000)]
    assert [w.wait(120) for w in writers] == [0, 0]
    keys = [f"k{s + i}" for s in (0, 100_000) for i in range(200)]
    got = EmbeddingCache("m", tmp_path).get(keys)
    assert len(got) == 400 and all((got[k] == float(k[1:])).all() for k in keys)
    # A writer killed -9 between and during its transactions: what is there is whole.
    killed = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), "500000", "100000"],
                              cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    for _ in range(30):
        killed.stdout.readline()
    killed.send_signal(signal.SIGKILL)
    killed.wait(30)
    got = EmbeddingCache("m", tmp_path).get([f"k{500_000 + i}" for i in range(100_000)])
    assert len(got) >= 300 and len(got) % 10 == 0
    assert all(v.shape == (384,) and (v == float(k[1:])).all() for k, v in got.items())


def test_a_read_only_vector_cache_is_one_notice_and_the_vectors_are_right(read_only_folder, monkeypatch):
    monkeypatch.setenv("MUSER_CACHE_DIR", str(read_only_folder))
    texts = ["We were worried about the exam."]
    with pytest.warns(Notice, match="sentence-vector cache cannot be written") as caught:
        vectors = cached_embeddings(texts)
    assert len(caught) == 1
    np.testing.assert_allclose(vectors, TextEncoder().embed(texts), atol=1e-5)


def test_text_model_key_is_the_cache_identity_computed_independently(tiny_bert):
    """config.json bytes, each weights file's SHA-256, folder name, max length and pooling: the caches' key."""
    import hashlib

    from muser_core.features.text_encoder import POOLING, TextModel, model_key

    model = TextModel.open(tiny_bert)
    assert TextModel.open(model) is model and model.folder == tiny_bert.resolve()
    digest = hashlib.sha256((tiny_bert / "config.json").read_bytes())
    for weights in sorted(tiny_bert.glob("*.safetensors")):
        digest.update(f"{weights.name}:{hashlib.sha256(weights.read_bytes()).hexdigest()}".encode())
    digest.update(f"{tiny_bert.name}|32|{POOLING}".encode())
    assert model.cache_key(32) == model_key(str(tiny_bert), 32) == f"{tiny_bert.name}-{digest.hexdigest()[:16]}"
    assert model.cache_key(32) != model.cache_key(64)
    config = __import__("json").loads((tiny_bert / "config.json").read_text())
    assert model.declared("num_hidden_layers") == config["num_hidden_layers"]
    assert model.positions == config["max_position_embeddings"] and model.declared("no_such_value") is None
    assert TextEncoder(model, 32).tokenizer is model.tokenizer   # loaded once, shared


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong length"])
def test_a_damaged_vector_cache_is_named_removed_and_rebuilt(tmp_path, monkeypatch, damage):
    """Never a wrong vector: the damaged file is not read, the vectors are computed again and cached anew."""
    import sqlite3
    import warnings

    from muser_core.features.text_encoder import TextModel, text_key

    monkeypatch.setenv("MUSER_CACHE_DIR", str(tmp_path))
    texts = [f"sentence number {i} about exams and sleep" for i in range(40)]
    fresh = cached_embeddings(texts, use_cache=False)
    cached_embeddings(texts)
    [file] = (tmp_path / "text_embeddings").glob("*.sqlite")
    if damage == "garbage":
        file.write_bytes(b"not a database at all" * 500)
    elif damage == "truncated":
        file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])
    else:   # a row whose vector is shorter than the model's (another program wrote it)
        with sqlite3.connect(file) as db:
            db.execute("UPDATE vectors SET vector = ? WHERE key = ?", (np.zeros(8, np.float32).tobytes(),
                                                                     text_key(texts[3])))
    with pytest.warns(Notice, match=r"sentence-vector cache is damaged .*removed and rebuilt") as seen:
        again = cached_embeddings(texts)
    assert sum(str(file) in str(w.message) for w in seen) == 1
    np.testing.assert_array_equal(again, fresh)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(cached_embeddings(texts), fresh)   # rebuilt: read back, no warning
    assert len(EmbeddingCache(file.name.removesuffix(".sqlite"), file.parent).get(
        [text_key(t) for t in texts], TextModel.open().declared("hidden_size"))) == len(texts)


def test_two_sessions_loading_the_text_model_at_once_both_get_it():
    """transformers' first import is not thread-safe: two threads (two browser sessions on one server) that
    loaded a model at once got "cannot import name 'AutoModel' from 'transformers'". A fresh interpreter, four
    threads at once."""
    code = ("import threading\n"
            "from muser_core.features.text_encoder import TextEncoder, TextModel\n"
            "errors = []\n"
            "def run(work):\n"
            "    try:\n        work()\n"
            "    except Exception as exc:\n        errors.append(f'{type(exc).__name__}: {exc}')\n"
            "works = [TextEncoder, lambda: TextModel.open('').tokenizer] * 2\n"
            "threads = [threading.Thread(target=run, args=(w,)) for w in works]\n"
            "[t.start() for t in threads]; [t.join() for t in threads]\n"
            "print(errors)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
