"""The engine's CPU kernels (`csrc/cpu_kernels.cpp`: packed-weight products, decode attention over the paged
cache; `csrc/decode_layer.cpp`: a whole decoder layer for decoding rows), compiled once per machine into one
library and loaded with ctypes.

The kernel is built with `-march=native`, so it uses whatever vector units the machine has (AVX2 and FMA here,
a plain loop elsewhere) and must never move between machines: the library's name holds a digest of the source,
the compiler and the CPU's flags, under the cache (`~/.cache/goldgate/kernels`). A build takes about two seconds
with g++ and no torch headers. It links OpenMP by its soname, `libgomp.so.1`, which resolves to the copy torch
has already loaded, so the kernel and torch share one thread pool instead of two pools spinning against each
other. Without a compiler the engine keeps its dense float32 layout and says so once.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import platform
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor

log = logging.getLogger(__name__)

CSRC = Path(__file__).with_name("csrc")
SOURCES = (CSRC / "cpu_kernels.cpp", CSRC / "decode_layer.cpp")
HEADERS = (CSRC / "cpu_kernels.h",)
FLAGS = ("-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", "-std=c++17")


class PackedMatrix:
    """A packed [n, k] matrix's tensors and their addresses, read once (a decode step makes 121 calls)."""

    def __init__(self, codes: Tensor, scales: Tensor, mins: Tensor | None) -> None:
        for t in (codes, scales, mins):
            if t is not None and (t.device.type != "cpu" or not t.is_contiguous()):
                raise ValueError("packed tensors must be contiguous and on the CPU")
        self.codes, self.scales, self.mins = codes, scales, mins
        self.n, self.k = codes.shape[0], scales.shape[1] * 32
        self.codes_at, self.scales_at = codes.data_ptr(), scales.data_ptr()
        self.mins_at = None if mins is None else mins.data_ptr()


class PackedKernels:
    """Typed calls into the compiled library; every tensor is contiguous and on the CPU."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        p, i64, i32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int
        lib.gg_matmul_u4.argtypes = [p, i64, i64, p, p, p, i64, p, i32]
        lib.gg_matmul_i8.argtypes = [p, i64, i64, p, p, i64, p, i32]
        lib.gg_matmul_u4.restype = lib.gg_matmul_i8.restype = i32
        lib.gg_attention_decode.argtypes = [p, p, p, p, p, i64, i64, i64, i64, i64, ctypes.c_float, p, i32]
        lib.gg_attention_decode.restype = None
        lib.gg_decode_layer.argtypes = [p, p, i64, p, p, p, p, p, p, p, i64, i32]
        lib.gg_decode_layer.restype = i32
        self._lib = lib

    def matmul(self, x: Tensor, w: "PackedMatrix") -> Tensor:
        """x [M, K] float32, contiguous, @ w.T: [M, N]."""
        M = x.shape[0]
        y = torch.empty(M, w.n)
        if w.mins is None:
            status = self._lib.gg_matmul_i8(x.data_ptr(), M, w.k, w.codes_at, w.scales_at, w.n, y.data_ptr(),
                                            torch.get_num_threads())
        else:
            status = self._lib.gg_matmul_u4(x.data_ptr(), M, w.k, w.codes_at, w.scales_at, w.mins_at, w.n,
                                            y.data_ptr(), torch.get_num_threads())
        self._check(status)
        return y

    def attention_decode(self, q: Tensor, k_cache: Tensor, v_cache: Tensor, read: Tensor, lengths: Tensor) -> Tensor:
        """Each row's one new token attending to its first lengths[b] slots of `read` [B, L]: q [B, heads, hd]
        float32 and the caches [slots, kv_heads, hd], all contiguous. Returns [B, heads, hd]."""
        B, n_heads, hd = q.shape
        out = torch.empty_like(q)
        self._lib.gg_attention_decode(q.data_ptr(), k_cache.data_ptr(), v_cache.data_ptr(), read.data_ptr(),
                                      lengths.data_ptr(), B, read.shape[1], n_heads, k_cache.shape[1], hd,
                                      hd ** -0.5, out.data_ptr(), torch.get_num_threads())
        return out

    def decode_layer(self, layer: ctypes.Structure, x: Tensor, cos: Tensor, sin: Tensor, k_cache: Tensor,
                     v_cache: Tensor, write: Tensor, read: Tensor, lengths: Tensor) -> None:
        """x [B, dim] (contiguous, updated in place) through one decoder layer described by `layer`
        (engine.decode_layer), each row decoding one token into slot write[b] of the caches."""
        self._check(self._lib.gg_decode_layer(ctypes.byref(layer), x.data_ptr(), x.shape[0], cos.data_ptr(),
                                              sin.data_ptr(), k_cache.data_ptr(), v_cache.data_ptr(),
                                              write.data_ptr(), read.data_ptr(), lengths.data_ptr(), read.shape[1],
                                              torch.get_num_threads()))

    @staticmethod
    def _check(status: int) -> None:
        if status:
            raise RuntimeError(f"packed matmul failed with status {status} (K must be a multiple of 32)")


def library_name(compiler: str) -> str:
    """The library's file name: a digest of everything its machine code depends on."""
    digest = hashlib.sha256()
    for source in (*SOURCES, *HEADERS):
        digest.update(source.read_bytes())
    for part in (compiler, _compiler_version(compiler), " ".join(FLAGS), platform.machine(), _cpu_flags()):
        digest.update(part.encode() + b"\0")
    return f"cpu_kernels-{digest.hexdigest()[:16]}.so"


def build(cache: Path) -> Path:
    """Compile the kernel into `cache` unless it is already there; the file appears whole or not at all."""
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        raise OSError("no C++ compiler (g++ or c++) on PATH")
    target = cache / library_name(compiler)
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        partial = Path(tmp) / target.name
        done = subprocess.run([compiler, *FLAGS, *map(str, SOURCES), "-o", str(partial)], capture_output=True,
                              text=True)
        if done.returncode != 0:
            raise OSError(f"{compiler} failed on {CSRC}: {done.stderr.strip()[-400:]}")
        partial.replace(target)
    return target


@lru_cache(maxsize=None)
def packed_kernels(cache: Path) -> PackedKernels | None:
    """The kernels, built into `cache` on first use; None (logged once) where they cannot be built or loaded."""
    try:
        return PackedKernels(ctypes.CDLL(str(build(cache))))
    except OSError as e:
        log.warning("CPU kernels unavailable, keeping dense float32 matrices and torch's attention: %s", e)
        return None


def _compiler_version(compiler: str) -> str:
    return subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout.split("\n", 1)[0]


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor()
