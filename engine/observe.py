"""A finished sequence as telemetry's plain `GenerationRecord`: the engine's only contact with telemetry."""

from __future__ import annotations

import time
from typing import Callable

from engine.core import EngineStats, FinishHook
from engine.sequence import Sequence
from telemetry import GenerationRecord, Telemetry, record_generation, wall_ns

PROVIDER = "goldgate"  # not one of the conventions' well-known providers: the engine is our own


def generation_record(seq: Sequence, model_id: str, stats: EngineStats) -> GenerationRecord:
    request, p = seq.request, seq.request.params
    now_perf, now_ns = time.perf_counter(), time.time_ns()

    def ns(perf_s: float) -> int:  # one clock reading for all of this request's times
        return wall_ns(perf_s, now_perf=now_perf, now_ns=now_ns)

    has_tokens = bool(seq.out)
    end = seq.last_token_at if has_tokens and seq.error is None and seq.finish_reason != "cancelled" else now_perf
    return GenerationRecord(
        operation="chat" if request.messages is not None else "text_completion", provider=PROVIDER,
        request_model=model_id, response_model=model_id, response_id=request.request_id,
        start_ns=ns(seq.arrived), end_ns=ns(end), max_tokens=p.max_tokens, temperature=p.temperature,
        top_p=p.top_p, top_k=p.top_k, seed=p.seed, stop=p.stop, stream=request.stream,
        finish_reason=None if seq.error else seq.finish_reason, input_tokens=len(seq.prompt_ids),
        output_tokens=len(seq.out), cached_tokens=seq.cached_tokens, engine_s=seq.engine_s,
        first_token_ns=ns(seq.first_token_at) if has_tokens else None,
        queue_s=(seq.started or end) - seq.arrived,
        prefill_s=seq.first_token_at - seq.started if has_tokens and seq.started else None,
        decode_s=seq.last_token_at - seq.first_token_at if has_tokens else None,
        requests_waiting=stats.waiting, kv_cache_usage=stats.kv_cache_usage,
        error_type=seq.error.split(":", 1)[0] if seq.error else None, parent_traceparent=request.traceparent,
        messages=request.messages, prompt=request.prompt, output=seq.text.text, extra=request.span_attributes)


def observer(tel: Telemetry, model_id: str, stats: Callable[[], EngineStats]) -> FinishHook:
    """The engine core's hook for finished sequences: write the span and metrics, keep the span's ids."""
    def observe(seq: Sequence) -> None:
        seq.span_ids = record_generation(tel, generation_record(seq, model_id, stats()))
    return observe
