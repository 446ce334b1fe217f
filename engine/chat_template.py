"""Render a model's Jinja chat template exactly as Hugging Face's `apply_chat_template` does.

Same environment (sandboxed, trim_blocks, lstrip_blocks, loop controls) and the same helpers
(`raise_exception`, `strftime_now`, a `tojson` that keeps non-ASCII), so prompts match byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Sequence

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.errors import InvalidRequestError, ModelFileError

Message = dict[str, Any]


def _raise(message: str) -> None:
    raise InvalidRequestError(f"chat template: {message}")


def _tojson(x: Any, ensure_ascii: bool = False, indent: int | None = None,
            separators: tuple[str, str] | None = None, sort_keys: bool = False) -> str:
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


class ChatTemplate:
    def __init__(self, source: str, special_tokens: dict[str, str]) -> None:
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
        env.filters["tojson"] = _tojson
        env.globals["raise_exception"] = _raise
        env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
        try:
            self._template = env.from_string(source)
        except jinja2.TemplateSyntaxError as e:
            raise ModelFileError(f"chat template does not parse: {e}") from None
        self.source = source
        self.sha256 = hashlib.sha256(source.encode()).hexdigest()
        self._special_tokens = special_tokens

    def render(self, messages: Sequence[Message], *, add_generation_prompt: bool = True) -> str:
        if not messages:
            raise InvalidRequestError("messages: must not be empty")
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
                raise InvalidRequestError(f"messages[{i}]: needs a string 'role' and a string 'content'")
        return self._template.render(messages=list(messages), add_generation_prompt=add_generation_prompt,
                                     **self._special_tokens)
