"""eGeMAPS extraction: agreement with openSMILE, the content-keyed cache, batches with bad files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import opensmile
import pandas as pd
import pytest
from conftest import run_with_file_limit, stray_temporaries, write_wav

from muser_core.base.errors import Notice
from muser_core.cli import run_command
from muser_core.features.acoustic import (
    EGEMAPS_FEATURES,
    FeatureCache,
    egemaps_from_file,
    extract_egemaps,
)

main = run_command("features", "acoustic")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSER_CACHE_DIR", str(tmp_path / "cache"))


def test_88_features_named_as_opensmile():
    """The names are written out (no openSMILE import to read a table): they must be openSMILE's own."""
    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=opensmile.FeatureLevel.Functionals)
    assert EGEMAPS_FEATURES == list(smile.feature_names)
    assert len(EGEMAPS_FEATURES) == 88
    assert EGEMAPS_FEATURES[0] == "F0semitoneFrom27.5Hz_sma3nz_amean"
    assert EGEMAPS_FEATURES[-1] == "equivalentSoundLevel_dBp"


def test_matches_opensmile_on_a_16k_file(tmp_path):
    path = write_wav(tmp_path / "a.wav", seconds=2.0)
    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                            feature_level=opensmile.FeatureLevel.Functionals)
    reference = smile.process_file(str(path)).to_numpy()[0]
    np.testing.assert_allclose(egemaps_from_file(path), reference, rtol=1e-5, atol=1e-5)


def test_format_does_not_change_features_much(tmp_path):
    a = egemaps_from_file(write_wav(tmp_path / "a.wav", seconds=2.0))
    b = egemaps_from_file(write_wav(tmp_path / "b.wav", seconds=2.0, sr=48_000, channels=2))
    f0 = EGEMAPS_FEATURES.index("F0semitoneFrom27.5Hz_sma3nz_amean")
    assert abs(a[f0] - b[f0]) < 0.5  # semitones


def test_batch_skips_bad_files_and_keeps_order(tmp_path):
    good = [write_wav(tmp_path / f"g{i}.wav", f0=120 + 20 * i, seed=i) for i in range(3)]
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio" * 100)
    silent = tmp_path / "silent.wav"
    import soundfile
    soundfile.write(silent, np.zeros(8000, np.float32), 16000)
    paths = [good[0], bad, good[1], tmp_path / "missing.wav", silent, good[2]]
    table, skipped = extract_egemaps(paths, workers=2)
    assert list(table.index) == [str(p) for p in good]
    assert table.shape == (3, 88) and not table.isna().any().any()
    reasons = " | ".join(s.reason for s in skipped)
    assert len(skipped) == 3 and "not a readable audio file" in reasons
    assert "not found" in reasons and "silent" in reasons


def test_parallel_equals_serial(tmp_path):
    paths = [write_wav(tmp_path / f"g{i}.wav", f0=100 + 15 * i, seed=i) for i in range(4)]
    serial, _ = extract_egemaps(paths, workers=1, use_cache=False)
    parallel, _ = extract_egemaps(paths, workers=2, use_cache=False)
    pd.testing.assert_frame_equal(serial, parallel)


def test_cache_is_keyed_by_content(tmp_path):
    cache = FeatureCache(tmp_path / "c")
    path = write_wav(tmp_path / "a.wav", f0=150)
    first, _ = extract_egemaps([path], cache=cache)
    # A cached entry is served even if extraction would now give something else ...
    marker = np.full(88, 7.0)
    key = next((tmp_path / "c").rglob("*.npy")).stem
    cache.put(key, marker)
    served, _ = extract_egemaps([path], cache=cache)
    np.testing.assert_array_equal(served.to_numpy()[0], marker)
    # ... and changing the file's content invalidates it.
    write_wav(path, f0=220)
    fresh, _ = extract_egemaps([path], cache=cache)
    assert not np.allclose(fresh.to_numpy()[0], marker)
    assert not np.allclose(fresh.to_numpy()[0], first.to_numpy()[0])
    # A damaged entry counts as a miss, not an error.
    for entry in (tmp_path / "c").rglob("*.npy"):
        entry.write_bytes(b"garbage")
    again, skipped = extract_egemaps([path], cache=cache)
    assert not skipped
    np.testing.assert_allclose(again.to_numpy(), fresh.to_numpy())


def test_command_line(tmp_path):
    folder = tmp_path / "clips"
    for i in range(2):
        write_wav(folder / f"c{i}.wav", seed=i)
    (folder / "broken.wav").write_bytes(b"xx" * 100)
    out = tmp_path / "f.csv"
    proc = subprocess.run([sys.executable, "-m", "muser_core", "features", "acoustic", "--in", str(folder),
                           "--out", str(out), "--workers", "1"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "skipped 1 files" in proc.stdout and "broken.wav" in proc.stdout
    table = pd.read_csv(out, index_col=0)
    assert table.shape == (2, 88)
    proc = subprocess.run([sys.executable, "-m", "muser_core", "features", "acoustic", "--in",
                           str(tmp_path / "none"), "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 2 and "error:" in proc.stderr and "Traceback" not in proc.stderr


def _cli(capsys, *args) -> tuple[int, str]:
    """The command line in this process (its imports cost seconds in a new one): status, stderr."""
    status = main([*map(str, args), "--workers", "1"])
    return status, capsys.readouterr().err


def _one_line_error(result: tuple[int, str]) -> str:
    status, err = result
    errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert status == 2 and len(errors) == 1, err
    return errors[0]


def test_command_line_on_one_file(tmp_path, capsys):
    flac = write_wav(tmp_path / "clip.flac", subtype="PCM_16")
    out = tmp_path / "one.csv"
    status, err = _cli(capsys, "--in", flac, "--out", out)
    assert status == 0, err
    table = pd.read_csv(out, index_col=0)
    assert table.index.tolist() == [str(flac)]
    np.testing.assert_allclose(table.to_numpy()[0], egemaps_from_file(flac), rtol=1e-5)


def test_command_line_bad_out_and_cache_are_one_line(tmp_path, monkeypatch, capsys):
    write_wav(tmp_path / "clips" / "a.wav")
    (tmp_path / "folder").mkdir()
    line = _one_line_error(_cli(capsys, "--in", tmp_path / "clips", "--out", tmp_path / "folder"))
    assert f"{tmp_path / 'folder'}: is a folder" in line
    (tmp_path / "afile").write_text("x")
    line = _one_line_error(_cli(capsys, "--in", tmp_path / "clips", "--out", tmp_path / "afile" / "f.csv"))
    assert f"{tmp_path / 'afile'} is a file, not a folder" in line
    monkeypatch.setenv("MUSER_CACHE_DIR", str(tmp_path / "afile"))
    line = _one_line_error(_cli(capsys, "--in", tmp_path / "clips", "--out", tmp_path / "f.csv"))
    assert f"{tmp_path / 'afile'}: cannot use as the feature cache" in line
    assert _cli(capsys, "--in", tmp_path / "clips", "--out", tmp_path / "f.csv", "--no-cache")[0] == 0


def test_a_full_disk_keeps_the_previous_table_whole(tmp_path):
    """``--out`` on a full disk leaves the previous good table whole."""
    folder = tmp_path / "clips"
    for i in range(3):
        write_wav(folder / f"c{i}.wav", seed=i)
    out = tmp_path / "egemaps.csv"
    command = [sys.executable, "-m", "muser_core", "features", "acoustic", "--in", str(folder),
               "--out", str(out), "--workers", "1"]
    assert subprocess.run(command, capture_output=True, text=True).returncode == 0
    before = out.read_bytes()
    write_wav(folder / "c3.wav", seed=3)    # a bigger table this time, on a disk with 2 kB left per file
    proc = run_with_file_limit(command, limit_bytes=2048)
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert proc.returncode == 2 and len(errors) == 1 and "cannot write" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert out.read_bytes() == before
    assert stray_temporaries(tmp_path) == []


def test_a_read_only_cache_extracts_without_caching_with_one_notice(tmp_path, read_only_folder):
    """A feature cache on a read-only disk is skipped with a warning; the batch goes on."""
    clips = [write_wav(tmp_path / f"c{i}.wav", seed=i) for i in range(2)]
    with pytest.warns(Notice, match="cannot be written") as caught:
        table, skipped = extract_egemaps(clips, cache=FeatureCache(read_only_folder))
    assert len(caught) == 1 and skipped == []
    np.testing.assert_allclose(table.loc[str(clips[1])].to_numpy(), egemaps_from_file(clips[1]), rtol=1e-5)
    assert list(read_only_folder.iterdir()) == []


@pytest.mark.parametrize("damage", ["half written", "wrong shape"])
def test_a_damaged_feature_cache_entry_is_named_removed_and_extracted_again(tmp_path, damage):
    cache = FeatureCache(tmp_path / "c")
    path = write_wav(tmp_path / "a.wav", f0=150)
    first, _ = extract_egemaps([path], cache=cache)
    [entry] = (tmp_path / "c").rglob("*.npy")
    if damage == "half written":
        entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    else:
        np.save(entry, np.zeros(12))
    fresh = FeatureCache(tmp_path / "c")
    with pytest.warns(Notice, match="a damaged feature cache entry; removed and extracted again") as seen:
        again, skipped = extract_egemaps([path], cache=fresh)
    assert not skipped and sum(str(entry) in str(w.message) for w in seen) == 1 and fresh.damaged == 1
    np.testing.assert_allclose(again.to_numpy(), first.to_numpy())
    np.testing.assert_array_equal(np.load(entry), again.to_numpy()[0])   # rebuilt whole
