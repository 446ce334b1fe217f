"""What several commands share: the `--db`, `--device` and `--dtype` options, loading a model with a
progress bar, and telemetry built from the settings with a bad `OTEL_*` value turned into a usage error.
Heavy imports (torch, OpenTelemetry) wait inside the functions, so `--help` stays fast."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from engine.placement import DEVICES, DTYPES
from evals.errors import EvalInputError, UsageError, first_problem
from evals.settings import Settings

if TYPE_CHECKING:
    from engine.engine import Engine
    from evals.run.suite import EndpointConfig, SamplingConfig
    from evals.run.work import Backend
    from evals.store.store import Store
    from telemetry import Telemetry
    from telemetry.prices import PriceTable
    from telemetry.sinks import SpanRowBuffer
    from telemetry.tail_policy import SamplingPolicy


def add_db_option(p: argparse.ArgumentParser, settings: Settings, *, inherited: bool = False) -> None:
    """`--db`; `inherited` for an action's own parser (`runs list --db X`), where it only overrides the
    value its command took (`runs --db X list`)."""
    if inherited:
        p.add_argument("--db", type=Path, default=argparse.SUPPRESS, help="the DuckDB store (as before the action)")
    else:
        p.add_argument("--db", type=Path, default=settings.db,
                       help="the DuckDB store (default: %(default)s, or $GOLDGATE_DB)")


def existing_store(path: Path) -> Store:
    """The store at `path`, which must exist (a missing one is an error, never a new empty one), migrated
    to the current schema (a moment's write lock, as `serve --db` takes)."""
    from evals.store.store import Store

    store = Store(path)
    with store.read():
        pass
    with store.write():
        pass
    return store


def instant(value: str | None) -> datetime:
    """`--at` (or now) as the store keeps times: naive UTC."""
    if value is None:
        return datetime.now(timezone.utc).replace(tzinfo=None)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--at: an ISO 8601 time such as 2026-12-03T14:00:00Z; got {value!r}") from None
    return at.astimezone(timezone.utc).replace(tzinfo=None) if at.tzinfo else at


def print_or_write(text: str, out: Path | None) -> None:
    """A generated file (Prometheus rules, a Collector config) to `--out`, or to stdout without one."""
    if out is None:
        print(text, end="")
        return
    try:
        out.write_text(text)
    except OSError as e:
        raise UsageError(f"--out: cannot write {out}: {e.strerror}") from None


def endpoint_from_flags(url: str, model: str | None) -> EndpointConfig:
    """`--endpoint URL[,URL...] --model NAME`: one server, or replicas of one model."""
    from pydantic import ValidationError

    from evals.run.suite import EndpointConfig

    if not model:
        raise EvalInputError("needs --model, the model name the endpoint serves", field="--endpoint")
    try:
        return EndpointConfig(url=url, model=model)
    except ValidationError as e:
        raise EvalInputError(first_problem(e)[1], field="--endpoint") from None


def backend_from_flags(model: str | None, endpoint: str | None, sampling: SamplingConfig, settings: Settings) -> Backend:
    """`--endpoint URL --model NAME` (an OpenAI-compatible server), or `--model` run in-process."""
    from engine.placement import DEFAULT_MAX_BATCH
    from evals.run.engine_backend import EngineBackend

    if endpoint:
        from evals.run.endpoint_backend import EndpointBackend

        return EndpointBackend(endpoint_from_flags(endpoint, model), sampling, concurrency=8, timeout_s=120.0)
    return EngineBackend(load_engine(model, settings, max_batch_size=DEFAULT_MAX_BATCH), sampling)


def add_placement_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--dtype", choices=DTYPES, default="auto",
                   help="auto: bfloat16 on CUDA, float32 on CPU; int8, int4: weights requantised to 8 or 4 bits "
                        "on CPU, float32 arithmetic (docs/engine.md)")


def model_path(name: str | None, settings: Settings) -> Path:
    """Resolve a model argument, showing a progress bar while a known model is extracted."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from engine import model_store

    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"extracting {name or model_store.DEFAULT_MODEL.name}", total=None)
        return model_store.resolve(name, home=settings.home,
                                   progress=lambda done, total: bar.update(task, completed=done, total=total))


def load_engine(model: str | None, settings: Settings, *, device: str = "auto", dtype: str = "auto",
                flag_prefix: str = "--", **engine_options) -> Engine:
    """The engine on `model`; a bad device or dtype names its flag (`--device`) or suite field
    (`engine.device`, with `flag_prefix="engine."`)."""
    from engine import InvalidRequestError
    from engine.devices import resolve
    from engine.engine import Engine

    try:
        resolved_device, resolved_dtype, quantize = resolve(device, dtype)
    except InvalidRequestError as e:
        raise InvalidRequestError.for_field(f"{flag_prefix}{e.field}", e.detail) from None
    return Engine.load(model_path(model, settings), device=resolved_device, dtype=resolved_dtype, quantize=quantize,
                       kernel_cache=settings.home / "kernels", **engine_options)


def configure_telemetry(settings: Settings, *, service_name: str, prometheus: bool = False,
                        span_rows: SpanRowBuffer | None = None, jsonl_path: Path | None = None,
                        prices: PriceTable | None = None, sampling: SamplingPolicy | None = None) -> Telemetry:
    from telemetry import configure
    from telemetry.settings import TelemetryConfigError

    try:
        return configure(env=settings.environ, service_name=service_name, prometheus=prometheus,
                         span_rows=span_rows, jsonl_path=jsonl_path, prices=prices, sampling=sampling)
    except TelemetryConfigError as e:
        raise UsageError(str(e)) from None
    except OSError as e:  # the JSONL sink's folder cannot be made
        raise UsageError(f"--spans-jsonl: cannot write {jsonl_path}: {e.strerror}") from None
