"""The text encoder reads safetensors weights only: a pickled checkpoint can run code when loaded."""

from __future__ import annotations

import re
import shutil

import pytest
import torch

from muser_core.errors import InputError
from muser_core.text_encoder import TextEncoder, default_model_path, resolve_model_path


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
