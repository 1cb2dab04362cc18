"""The text encoder reads safetensors weights only: a pickled checkpoint can run code when loaded."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from muser_core.base.errors import InputError
from muser_core.features.text_encoder import (
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
    """Issue 26: long texts were cut at 128 tokens without a word."""
    from muser_core.features.text_encoder import token_lengths, truncation_note

    texts = ["calm", "word " * 200, "two words"]
    lengths = token_lengths(texts)
    assert lengths[1] > 128 and lengths[0] < lengths[2] < 16   # [CLS] ... [SEP] included
    note = truncation_note(lengths, 128)
    assert note.startswith("text: 1 of 3 texts (33.3%) are longer than max length 128 tokens")
    assert f"longest {lengths.max()}" in note


def test_a_model_retrained_in_place_does_not_reuse_the_old_vectors(tmp_path, monkeypatch):
    """Issue 25: the cache key used weight-file sizes, so same-size new weights got stale vectors (gap 0.93)."""
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
