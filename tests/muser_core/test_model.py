"""MUSER model shapes (paper 4.3), mean pooling, dynamic padding, checkpoint shape checks."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from muser_core.base.errors import InputError
from muser_core.config import ModelConfig
from muser_core.features.text_encoder import TextEncoder, mean_pool
from muser_core.model import MultiTaskModel, load_weights, trainable_state

TASKS = ("stress", "activation", "valence")


@pytest.mark.parametrize("modality, fused", [("both", 512), ("text", 256), ("audio", 256)])
def test_forward_shapes(modality, fused):
    torch.manual_seed(0)
    model = MultiTaskModel(ModelConfig(modality=modality, text_dim=384), TASKS)
    batch = {"text_embedding": torch.randn(5, 384), "acoustic": torch.randn(5, 88)}
    assert model.encode(batch).shape == (5, fused)
    out = model(batch)
    assert out["stress"].shape == (5, 2) and out["activation"].shape == (5,) and out["valence"].shape == (5,)
    assert set(model.heads) == set(TASKS)
    assert set(model(batch, tasks=["valence"])) == {"valence"}


def test_architecture_follows_the_paper():
    model = MultiTaskModel(ModelConfig(text_dim=384), TASKS)
    linears = [m for m in model.acoustic if isinstance(m, torch.nn.Linear)]
    relus = [m for m in model.acoustic if isinstance(m, torch.nn.ReLU)]
    assert [(m.in_features, m.out_features) for m in linears] == [(88, 256)] + [(256, 256)] * 3
    assert len(relus) == 4
    assert (model.text_proj.in_features, model.text_proj.out_features) == (384, 256)
    assert isinstance(model.heads["activation"][0], torch.nn.Dropout) and model.heads["activation"][0].p == 0.1
    assert model.heads["stress"].out_features == 2


def test_mean_pool_ignores_padding():
    hidden = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    pooled = mean_pool(hidden, mask)
    assert torch.allclose(pooled[0], hidden[0, :2].mean(0))
    assert torch.allclose(pooled[1], hidden[1].mean(0))


@pytest.fixture(scope="module")
def encoder():
    return TextEncoder("", max_length=128).eval()


def test_dynamic_padding_gives_the_same_vectors_as_padding_to_128(encoder):
    texts = ["I am worried about the exam tomorrow.", "Fine.", "We walked in the garden all afternoon."]
    dynamic = encoder.tokenize(texts)
    fixed = encoder.tokenize(texts, pad_to=128)
    assert dynamic["input_ids"].shape[1] < 20 and fixed["input_ids"].shape[1] == 128
    with torch.no_grad():
        a = encoder(dynamic["input_ids"], dynamic["attention_mask"])
        b = encoder(fixed["input_ids"], fixed["attention_mask"])
    assert a.shape == (3, encoder.hidden_size)
    assert torch.allclose(a, b, atol=1e-5)
    assert encoder.embed(texts) == pytest.approx(a.numpy(), abs=1e-5)


def test_frozen_checkpoint_excludes_the_transformer(encoder):
    model = MultiTaskModel(ModelConfig(text_dim=encoder.hidden_size), TASKS, encoder)
    frozen = trainable_state(model, "frozen")
    assert not any(k.startswith("text_encoder.") for k in frozen)
    assert any(k.startswith("text_encoder.") for k in trainable_state(model, "finetune"))


def test_checkpoint_from_another_shape_is_a_one_line_error(tmp_path):
    small = MultiTaskModel(ModelConfig(modality="audio", hidden_size=64), TASKS)
    path = tmp_path / "small.safetensors"
    save_file(trainable_state(small, "frozen"), str(path))
    big = MultiTaskModel(ModelConfig(modality="audio"), TASKS)
    with pytest.raises(InputError) as info:
        load_weights(big, path, "frozen")
    assert "shape" in str(info.value) and "\n" not in str(info.value)
    other_tasks = MultiTaskModel(ModelConfig(modality="audio", hidden_size=64), ("stress",))
    with pytest.raises(InputError, match="does not belong"):
        load_weights(other_tasks, path, "frozen")
    same = MultiTaskModel(ModelConfig(modality="audio", hidden_size=64), TASKS)
    load_weights(same, path, "frozen")
    assert torch.equal(same.heads["stress"].weight, small.heads["stress"].weight)
