"""Incremental detokenization with stop strings: what text is safe to show after each token.

Text is held back while it ends in an incomplete UTF-8 sequence, or could still be the start of
a stop string; a stop string itself is never shown.
"""

from __future__ import annotations

import itertools
from typing import Callable, Sequence


class TextStream:
    def __init__(self, decode: Callable[[list[int]], str], stop: Sequence[str] = ()) -> None:
        self._decode = decode
        self._stop = tuple(stop)
        self._hold = max((len(s) for s in self._stop), default=1) - 1
        self.text = ""  # the whole text so far, cut at a stop string once one is seen
        self.stopped = False
        self._shown = 0

    def push(self, ids: list[int]) -> str:
        """Take the full list of generated ids; return the newly showable text."""
        previous = len(self.text)
        self.text = self._decode(ids)
        for s in self._stop:
            at = self.text.find(s, max(0, previous - len(s) + 1))
            if at != -1:
                self.text, self.stopped = self.text[:at], True
        if self.stopped:
            return self.flush()
        safe = len(self.text) - self._hold
        if self.text.endswith("\ufffd"):  # a multi-byte character is still arriving
            safe = min(safe, len(self.text.rstrip("\ufffd")))
        return self._show(safe)

    def flush(self) -> str:
        """Everything not yet shown (at the end of generation)."""
        return self._show(len(self.text))

    def _show(self, upto: int) -> str:
        if upto <= self._shown:
            return ""
        delta, self._shown = self.text[self._shown:upto], upto
        return delta


def text_offsets(token_texts: Sequence[str], start: int = 0) -> list[int]:
    """Where each token's text starts in the text they make together (from `start`): the legacy
    completions API's `text_offset`, and how a continuation's tokens are told from its context's."""
    return list(itertools.accumulate((len(t) for t in token_texts[:-1]), initial=start)) if token_texts else []
