"""The engine's public synchronous API: load a model once, then generate for many requests or stream one.

Everything runs through one EngineCore (continuous batching over a paged KV cache); these methods
drive its steps on the caller's thread. `AsyncEngine` drives the same core from a background thread.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence as Seq

import torch

from engine.core import EngineCore, EngineStats
from engine.errors import ContextLengthError, InvalidRequestError
from engine.grammar import Grammars
from engine.kv_blocks import BlockManager
from engine.loader import LoadedModel, load_model
from engine.model_runner import ModelRunner
from engine.observe import observer
from engine.placement import DEFAULT_MAX_BATCH
from engine.request import GenerationRequest, GenerationResult, TokenLogprob
from engine.sampling import make_generator
from engine.sequence import Sequence, Sink
from engine.text_stream import TextStream
from telemetry import Telemetry


@dataclass(frozen=True)
class StreamChunk:
    """A piece of streamed text; the last chunk of a stream also carries the full result."""

    text: str
    result: GenerationResult | None = None
    logprobs: tuple[TokenLogprob, ...] = ()  # of the tokens generated since the previous chunk, when asked


BLOCK_SIZE = 16  # positions per KV block
CPU_KV_CACHE_BYTES = 1 << 30
CUDA_KV_CACHE_SHARE = 0.5  # of the memory free after loading


class Engine:
    def __init__(self, loaded: LoadedModel, *, max_batch_size: int = DEFAULT_MAX_BATCH,
                 kv_cache_tokens: int | None = None, token_budget: int | None = None,
                 telemetry: Telemetry | None = None) -> None:
        if max_batch_size < 1:
            raise InvalidRequestError.for_field("max_batch_size", f"must be at least 1, got {max_batch_size}")
        self.loaded = loaded
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.context_window = loaded.config.max_seq_len
        self.max_batch_size = max_batch_size
        tokens = kv_cache_tokens or default_kv_cache_tokens(loaded, max_batch_size)
        n_blocks = -(-tokens // BLOCK_SIZE) + 1  # + the padding block
        if n_blocks < 2:
            raise InvalidRequestError.for_field("kv_cache_tokens", f"must be at least 1, got {kv_cache_tokens}")
        blocks = BlockManager(n_blocks, BLOCK_SIZE)
        self.grammars = Grammars(self.tokenizer, loaded.config.vocab_size)
        runner = ModelRunner(self.model, loaded.device, self.grammars, n_blocks=n_blocks, block_size=BLOCK_SIZE,
                             kernels=loaded.kernels)
        self.core = EngineCore(runner, blocks, self.tokenizer.eos_ids, max_running=max_batch_size,
                               token_budget=token_budget or max(512, max_batch_size),
                               on_finish=observer(telemetry, self.model_id, self.stats) if telemetry else None)
        self.kv_cache_tokens = blocks.usage().total * BLOCK_SIZE
        if telemetry is not None:
            telemetry.instruments.watch_saturation(self.model_id, self._saturation)

    @classmethod
    def load(cls, path: Path, *, device: str | torch.device | None = None, dtype: torch.dtype | None = None,
             max_batch_size: int = DEFAULT_MAX_BATCH, kv_cache_tokens: int | None = None,
             telemetry: Telemetry | None = None, quantize: str | None = None,
             kernel_cache: Path | None = None) -> "Engine":
        return cls(load_model(path, device=device, dtype=dtype, quantize=quantize, kernel_cache=kernel_cache),
                   max_batch_size=max_batch_size,
                   kv_cache_tokens=kv_cache_tokens, telemetry=telemetry)

    @property
    def model_id(self) -> str:
        return self.loaded.model_id

    def stats(self) -> EngineStats:
        return self.core.stats()

    def _saturation(self) -> dict[str, float]:
        s = self.stats()
        return {"requests.running": s.running, "requests.waiting": s.waiting, "kv_blocks.used": s.kv_blocks_used,
                "kv_blocks.free": s.kv_blocks_free, "kv_cache.usage": s.kv_cache_usage,
                "kv_blocks.cached": s.kv_blocks_cached, "preemptions": s.preemptions_total,
                "prefix_cache.queries": s.prefix_cache_queries_total, "prefix_cache.hits": s.prefix_cache_hits_total}

    def render_prompt(self, request: GenerationRequest) -> str:
        if (request.prompt is None) == (request.messages is None):
            raise InvalidRequestError("request: give exactly one of 'prompt' and 'messages'")
        if request.prompt is not None:
            if not request.prompt:
                raise InvalidRequestError.for_field("prompt", "must not be empty")
            return request.prompt
        if not request.messages:
            raise InvalidRequestError.for_field("messages", "must not be empty")
        if self.tokenizer.chat_template is None:
            raise InvalidRequestError(f"messages: model {self.model_id} has no chat template; send a prompt")
        template = self.tokenizer.chat_template
        if not request.continue_final_message:
            return template.render(request.messages, add_generation_prompt=request.add_generation_prompt)
        *head, last = request.messages
        if last.get("role") != "assistant" or request.add_generation_prompt:
            raise InvalidRequestError.for_field(
                "continue_final_message", "needs the last message to be the assistant's and add_generation_prompt "
                "false (the reply is continued, not a new turn opened)")
        return template.render(head) + last["content"]  # the assistant turn opened, its start already written

    def validate(self, request: GenerationRequest) -> None:
        """Raise InvalidRequestError if `request` would be refused, so a caller can set it aside alone."""
        self.prepare(request, lambda *_: None)

    def prepare(self, request: GenerationRequest, sink: Sink, *, fit_max_tokens: bool = True,
                after: Sequence | None = None) -> Sequence:
        """The engine's sequence for `request` (not yet submitted); raises InvalidRequestError if refused.
        `fit_max_tokens` cuts max_tokens to what the context window leaves; without it, that is an error.
        `after`, a sequence with the same prompt submitted before it: this one's prefill waits for that
        one's and reads the prompt from the prefix cache."""
        arrived = time.perf_counter()
        text = self.render_prompt(request)
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as e:  # a lone surrogate, from a JSON escape such as "\ud800"
            raise InvalidRequestError.for_field("prompt" if request.prompt is not None else "messages",
                                                f"is not valid Unicode at character {e.start}") from None
        at_least = size // self.tokenizer.max_token_bytes
        if at_least >= self.context_window:  # refused before seconds of tokenising a huge body
            raise ContextLengthError(
                f"prompt is at least {at_least} tokens ({len(text)} characters); the context window of "
                f"{self.model_id} is {self.context_window} tokens")
        ids = self.tokenizer.encode(text)
        if len(ids) >= self.context_window:
            raise ContextLengthError(
                f"prompt is {len(ids)} tokens; the context window of {self.model_id} is {self.context_window} "
                f"tokens and at least one must be left to generate"
            )
        p = request.params
        max_new = min(p.max_tokens, self.context_window - len(ids))
        if max_new < p.max_tokens and not fit_max_tokens:
            raise ContextLengthError(
                f"max_tokens: the context window of {self.model_id} is {self.context_window} tokens; the prompt is "
                f"{len(ids)} and max_tokens asks for {p.max_tokens} more ({len(ids) + p.max_tokens} in all)", field="max_tokens"
            )
        if len(ids) + max_new > self.kv_cache_tokens:
            raise ContextLengthError(
                f"prompt ({len(ids)} tokens) plus max_tokens ({max_new}) is {len(ids) + max_new} tokens; "
                f"the KV cache holds {self.kv_cache_tokens}"
            )
        matcher = None if p.json_schema is None else self.grammars.matcher(p.json_schema, "response_format")
        return Sequence(request=request, prompt_ids=ids, max_new_tokens=max_new,
                        generator=make_generator(p.seed, self.loaded.device),
                        text=TextStream(self.tokenizer.decode, p.stop), arrived=arrived, sink=sink, matcher=matcher,
                        after=after if after is not None and after.prompt_ids == ids else None)

    def generate(self, requests: Seq[GenerationRequest]) -> list[GenerationResult]:
        """Results in the order of `requests`."""
        results: list[GenerationResult | None] = [None] * len(requests)
        for i, result in self.as_completed(requests):
            results[i] = result
        return results

    def as_completed(self, requests: Seq[GenerationRequest]) -> Iterator[tuple[int, GenerationResult]]:
        """(index into `requests`, result) as each request finishes; all are batched continuously."""
        done: deque[Sequence] = deque()
        seqs = [self.prepare(r, lambda s, _, finished: finished and done.append(s)) for r in requests]  # all valid first
        first: dict[tuple[int, ...], Sequence] = {}
        for s in seqs:  # a repeated prompt (epochs of one example) is computed once, by its first request
            key = tuple(s.prompt_ids)
            if key in first and s.request.params.prompt_logprobs is None:  # scoring computes every position
                s.after = first[key]
            else:
                first.setdefault(key, s)
        index = {id(s): i for i, s in enumerate(seqs)}
        for _ in self._drive(seqs):
            while done:
                s = done.popleft()
                yield index[id(s)], s.result()

    def stream(self, request: GenerationRequest) -> Iterator[StreamChunk]:
        pieces: deque[str] = deque()
        seq = self.prepare(request, lambda _, text, __: text and pieces.append(text))
        for _ in self._drive([seq]):
            while pieces:
                yield StreamChunk(pieces.popleft())
        yield StreamChunk("", seq.result())

    def _drive(self, seqs: list[Sequence]) -> Iterator[None]:
        """Submit `seqs` and step until all finish, yielding after each step so the caller can hand on
        what the sinks collected. A caller that stops early cancels whatever has not finished."""
        for s in seqs:
            self.core.add(s)
        try:
            while any(s.finish_reason is None for s in seqs):
                self.core.step()
                _raise_if_failed(seqs)
                yield
        finally:
            for s in seqs:
                if s.finish_reason is None:
                    self.core.cancel(s)


def _raise_if_failed(seqs: list[Sequence]) -> None:
    for s in seqs:
        if s.error is not None:
            raise RuntimeError(f"the engine failed: {s.error}")


def default_kv_cache_tokens(loaded: LoadedModel, max_batch_size: int) -> int:
    """Enough for every running sequence at the full context, within a memory budget for the device."""
    cfg = loaded.config
    per_token = cfg.n_layers * 2 * cfg.n_kv_heads * cfg.head_dim * loaded.dtype.itemsize
    if loaded.device.type == "cuda":
        budget = int(torch.cuda.mem_get_info(loaded.device)[0] * CUDA_KV_CACHE_SHARE)
    else:
        budget = CPU_KV_CACHE_BYTES
    return min(budget // per_token, max_batch_size * cfg.max_seq_len)
