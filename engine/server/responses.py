"""Response bodies in OpenAI's shapes: whole completions, stream chunks, usage, the model list."""

from __future__ import annotations

import json
from typing import Any, Callable, Literal, Sequence

from engine.request import GenerationResult, TokenLogprob

Kind = Literal["chat", "text"]


def usage(result: GenerationResult) -> dict[str, int]:
    u = result.usage
    return {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens, "total_tokens": u.total_tokens}


def _envelope(kind: Kind, chunk: bool, response_id: str, created: int, model: str) -> dict[str, Any]:
    obj = {("chat", False): "chat.completion", ("chat", True): "chat.completion.chunk",
           ("text", False): "text_completion", ("text", True): "text_completion"}[kind, chunk]
    return {"id": response_id, "object": obj, "created": created, "model": model}


TokenText = Callable[[int], str]  # a token id as the text it stands for


def logprobs_content(entries: Sequence[TokenLogprob], text: TokenText) -> dict[str, Any]:
    """OpenAI's chat `logprobs`: per token its text, log probability and UTF-8 bytes, and its rivals."""
    def one(token_id: int, logprob: float) -> dict[str, Any]:
        token = text(token_id)
        return {"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8"))}
    return {"content": [{**one(e.token_id, e.logprob), "top_logprobs": [one(i, lp) for i, lp in e.top]}
                        for e in entries]}


def text_logprobs(entries: Sequence[TokenLogprob], text: TokenText, offset: int = 0) -> dict[str, Any]:
    """The legacy completions API's `logprobs`: parallel lists of tokens, their log probabilities, their
    rivals as {token: logprob}, and where each token's text starts in the answer."""
    tokens = [text(e.token_id) for e in entries]
    offsets = [offset + sum(len(t) for t in tokens[:i]) for i in range(len(tokens))]
    return {"tokens": tokens, "token_logprobs": [e.logprob for e in entries],
            "top_logprobs": [_by_text(e.top, text) for e in entries], "text_offset": offsets}


def _by_text(top: Sequence[tuple[int, float]], text: TokenText) -> dict[str, float]:
    """Rivals keyed by their text; of two tokens with one text, the likelier (the first) is kept."""
    out: dict[str, float] = {}
    for token_id, logprob in top:
        out.setdefault(text(token_id), logprob)
    return out


def logprobs_of(kind: Kind, entries: Sequence[TokenLogprob], text: TokenText, offset: int = 0) -> dict[str, Any]:
    return logprobs_content(entries, text) if kind == "chat" else text_logprobs(entries, text, offset)


def completion(kind: Kind, result: GenerationResult, response_id: str, created: int, model: str,
               token_text: TokenText | None = None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "finish_reason": result.finish_reason, "logprobs": None}
    if result.logprobs is not None and token_text is not None:
        choice["logprobs"] = logprobs_of(kind, result.logprobs, token_text)
    if kind == "chat":
        choice["message"] = {"role": "assistant", "content": result.text}
    else:
        choice["text"] = result.text
    return {**_envelope(kind, False, response_id, created, model), "choices": [choice], "usage": usage(result)}


def chunk(kind: Kind, response_id: str, created: int, model: str, *, text: str | None = None, role: bool = False,
          finish_reason: str | None = None, logprobs: dict[str, Any] | None = None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish_reason, "logprobs": logprobs}
    if kind == "chat":
        choice["delta"] = ({"role": "assistant", "content": ""} if role else {}) | (
            {"content": text} if text is not None else {})
    else:
        choice["text"] = text or ""
    return {**_envelope(kind, True, response_id, created, model), "choices": [choice]}


def usage_chunk(kind: Kind, result: GenerationResult, response_id: str, created: int, model: str) -> dict[str, Any]:
    """The last chunk when `stream_options.include_usage` is set: no choices, the usage of the whole request."""
    return {**_envelope(kind, True, response_id, created, model), "choices": [], "usage": usage(result)}


def sse(body: dict[str, Any] | str) -> str:
    return f"data: {body if isinstance(body, str) else json.dumps(body, separators=(',', ':'))}\n\n"


def model_list(model: str, created: int) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": model, "object": "model", "created": created, "owned_by": "goldgate"}]}
