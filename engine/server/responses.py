"""Response bodies in OpenAI's shapes: whole completions, stream chunks, usage, the model list."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Literal, Sequence

from engine.request import GenerationResult, TokenLogprob
from engine.server.tools import ToolUse, read_reply
from engine.text_stream import text_offsets

Kind = Literal["chat", "text"]


def usage(results: Sequence[GenerationResult]) -> dict[str, Any]:
    """Of the whole response: the prompt counted once (the choices share it, and its first prefill), every
    choice's completion tokens."""
    prompt, cached = results[0].usage.prompt_tokens, results[0].usage.cached_tokens
    completion = sum(r.usage.completion_tokens for r in results)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached}}


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
    return {"tokens": tokens, "token_logprobs": [e.logprob for e in entries],
            "top_logprobs": [_by_text(e.top, text) for e in entries], "text_offset": text_offsets(tokens, offset)}


def _by_text(top: Sequence[tuple[int, float]], text: TokenText) -> dict[str, float]:
    """Rivals keyed by their text; of two tokens with one text, the likelier (the first) is kept."""
    out: dict[str, float] = {}
    for token_id, logprob in top:
        out.setdefault(text(token_id), logprob)
    return out


def logprobs_of(kind: Kind, entries: Sequence[TokenLogprob], text: TokenText, offset: int = 0) -> dict[str, Any]:
    return logprobs_content(entries, text) if kind == "chat" else text_logprobs(entries, text, offset)


@dataclass(frozen=True)
class Echo:
    """A completion asked with `echo`: its prompt comes back first; with max_tokens 0, alone (the one token
    the engine generated to score it is dropped)."""

    prompt: str
    generated: bool


def completion(kind: Kind, results: Sequence[GenerationResult], response_id: str, created: int, model: str,
               token_text: TokenText | None = None, echo: Echo | None = None,
               tool_use: ToolUse | None = None) -> dict[str, Any]:
    """The whole response, a choice per result."""
    body = {**_envelope(kind, False, response_id, created, model),
            "choices": [_choice(kind, i, r, token_text, echo, tool_use) for i, r in enumerate(results)],
            "usage": usage(results)}
    if echo is not None and not echo.generated:
        body["usage"] |= {"completion_tokens": 0, "total_tokens": results[0].usage.prompt_tokens}
    return body


def _choice(kind: Kind, index: int, result: GenerationResult, token_text: TokenText | None, echo: Echo | None,
            tool_use: ToolUse | None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": index, "finish_reason": result.finish_reason, "logprobs": None}
    answer = result.text if echo is None or echo.generated else ""
    generated = result.logprobs if echo is None or echo.generated else ()
    if result.logprobs is not None and token_text is not None:
        choice["logprobs"] = logprobs_of(kind, generated, token_text, len(echo.prompt) if echo else 0)
        if echo is not None:
            prompt = echoed_logprobs(result, token_text)
            choice["logprobs"] = {k: prompt[k] + choice["logprobs"][k] for k in prompt}
    if kind == "chat":
        content, calls = read_reply(tool_use, answer) if tool_use else (answer, [])
        choice["message"] = {"role": "assistant", "content": content} | ({"tool_calls": calls} if calls else {})
        choice["finish_reason"] = finish_reason(result, calls)
    else:
        choice["text"] = (echo.prompt if echo else "") + answer
    return choice


def echoed_logprobs(result: GenerationResult, text: TokenText) -> dict[str, list]:
    """The legacy shape's lists for an echoed prompt: its first token has no log probability (nothing
    comes before it), each later one its own under the model and its rivals."""
    first = text(result.prompt_token_ids[0])
    rest = text_logprobs(result.prompt_logprobs or (), text, len(first))
    return {"tokens": [first, *rest["tokens"]], "token_logprobs": [None, *rest["token_logprobs"]],
            "top_logprobs": [None, *rest["top_logprobs"]], "text_offset": [0, *rest["text_offset"]]}


def finish_reason(result: GenerationResult, calls: Sequence[dict[str, Any]]) -> str:
    return "tool_calls" if calls and result.finish_reason == "stop" else result.finish_reason


def chunk(kind: Kind, response_id: str, created: int, model: str, *, text: str | None = None, role: bool = False,
          finish_reason: str | None = None, logprobs: dict[str, Any] | None = None,
          tool_calls: Sequence[dict[str, Any]] = (), index: int = 0) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": index, "finish_reason": finish_reason, "logprobs": logprobs}
    if kind == "chat":
        choice["delta"] = ({"role": "assistant", "content": ""} if role else {}) | (
            {"content": text} if text is not None else {}) | (
            {"tool_calls": [{"index": i, **c} for i, c in enumerate(tool_calls)]} if tool_calls else {})
    else:
        choice["text"] = text or ""
    return {**_envelope(kind, True, response_id, created, model), "choices": [choice]}


def usage_chunk(kind: Kind, results: Sequence[GenerationResult], response_id: str, created: int,
                model: str) -> dict[str, Any]:
    """The last chunk when `stream_options.include_usage` is set: no choices, the usage of the whole request."""
    return {**_envelope(kind, True, response_id, created, model), "choices": [], "usage": usage(results)}


def sse(body: dict[str, Any] | str) -> str:
    return f"data: {body if isinstance(body, str) else json.dumps(body, separators=(',', ':'))}\n\n"


def model_list(model: str, created: int) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": model, "object": "model", "created": created, "owned_by": "goldgate"}]}
