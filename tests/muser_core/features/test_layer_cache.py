"""Top-k fine-tuning's cached lower layers: the split equals the whole model; the cache is bounded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from muser_core.base.errors import InputError, Notice
from muser_core.features.layer_cache import (
    HiddenStateCache,
    cache_key,
    cached_lower_states,
    check_layers,
    forget_hidden_states,
    length_from_data,
    lower_states,
    top_layers,
)
from muser_core.features.text_encoder import TextEncoder, text_key

TEXTS = ["a short one.", "a somewhat longer sentence about the exam tomorrow morning.",
         "mid length words here", "a short one."]


def test_top_layers_over_cached_states_give_the_whole_models_vectors(tiny_bert):
    """A padded batch of mixed lengths through the top layer, against the whole Transformer on the same batch."""
    encoder = TextEncoder(tiny_bert, max_length=32).eval()
    states = lower_states(encoder, TEXTS, k=1)
    tokens = encoder.tokenize(TEXTS)
    lengths = tokens["attention_mask"].sum(1).tolist()
    assert [len(s) for s in states] == lengths
    hidden = torch.zeros(len(TEXTS), max(lengths), encoder.hidden_size)
    for i, s in enumerate(states):
        hidden[i, :len(s)] = torch.from_numpy(s)
    with torch.no_grad():
        whole = encoder(tokens["input_ids"], tokens["attention_mask"])
        split = top_layers(encoder, hidden, tokens["attention_mask"], 1)
    torch.testing.assert_close(split, whole, atol=1e-5, rtol=1e-5)
    # The lower states are what the model's own forward has at that depth (an independent call, unpadded).
    one = encoder.tokenize(TEXTS[1:2])
    with torch.no_grad():
        depth1 = encoder.transformer(**one, output_hidden_states=True).hidden_states[1][0]
    np.testing.assert_allclose(states[1], depth1.numpy(), atol=1e-6)


def test_the_layer_count_is_checked_in_one_line(tiny_bert):
    encoder = TextEncoder(tiny_bert, max_length=32)
    assert check_layers(encoder, 1) == 1
    for k in (2, 5):
        with pytest.raises(InputError, match=f"--finetune-layers {k}: this model has 2 layers, so give 1 to 1"):
            check_layers(encoder, k)


def test_the_cache_is_content_keyed_bounded_and_forgets(tiny_bert, tmp_path, monkeypatch):
    encoder = TextEncoder(tiny_bert, max_length=32)
    first, note = cached_lower_states(encoder, TEXTS, 1, root=tmp_path)
    assert "0 of 3 texts from the cache" in note          # "a short one." twice: one file
    again, note = cached_lower_states(encoder, list(reversed(TEXTS)), 1, root=tmp_path)
    assert "3 of 3 texts from the cache" in note
    for a, b in zip(first, reversed(again), strict=True):
        assert np.array_equal(a, b)
    files = sorted(tmp_path.rglob("*.npy"))
    assert len(files) == 3
    size = sum(f.stat().st_size for f in files)
    # A bound below what is stored: another run's texts push out the least recently used, never its own.
    monkeypatch.setenv("MUSER_HIDDEN_CACHE_MB", str(size / 1024**2))
    _, note = cached_lower_states(encoder, ["a new text for another run"], 1, root=tmp_path)
    assert "least recently used files removed" in note
    left = sorted(tmp_path.rglob("*.npy"))
    total = sum(f.stat().st_size for f in left)
    assert total <= size and len(left) < len(files) + 1
    cache = HiddenStateCache(cache_key(encoder.path, 32, 1, "cpu"), tmp_path)
    assert cache.path(text_key("a new text for another run")).is_file()
    # Deleting a participant removes their texts' states.
    assert forget_hidden_states(["a new text for another run"], tmp_path) == 1
    assert not cache.path(text_key("a new text for another run")).is_file()


def test_max_length_from_the_data():
    lengths = np.arange(1, 201)           # 99th percentile 199.01 -> 200
    assert length_from_data(lengths, 512) == 200
    assert length_from_data(np.array([5, 9, 13]), 512) == 16
    assert length_from_data(np.array([700, 900]), 512) == 512


def test_a_damaged_hidden_state_file_is_named_removed_and_computed_again(tiny_bert, tmp_path):
    encoder = TextEncoder(tiny_bert, max_length=32)
    first, _ = cached_lower_states(encoder, TEXTS, 1, root=tmp_path)
    files = sorted(tmp_path.rglob("*.npy"))
    files[0].write_bytes(files[0].read_bytes()[:100])             # truncated
    np.save(files[1], np.zeros((3, 5), np.float32))                # another width
    with pytest.warns(Notice, match=r"a damaged hidden-state cache file \(and 1 more\); removed and computed"):
        again, note = cached_lower_states(encoder, TEXTS, 1, root=tmp_path)
    assert "1 of 3 texts from the cache" in note
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
