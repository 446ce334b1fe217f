"""Structured outputs: a JSON schema compiled by llguidance into a matcher that follows one request's
tokens, and the batched token masks that keep its sampled tokens inside the schema.

llguidance, not xgrammar: it has no dependencies of its own (xgrammar brings triton and transformers
at run time), it reads the engine's `tokenizers` vocabulary as it is, and it refuses a schema with
the keyword it does not implement named ("Unimplemented keys: ["if"]").
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Sequence

import numpy as np
import torch
from llguidance import LLExecutor, LLMatcher, LLTokenizer
from torch import Tensor

from engine.errors import InvalidRequestError
from engine.tokenizer import Tokenizer

# JSON as json.dumps writes it, unless the schema's own `x-guidance` says otherwise: free whitespace
# would let a small model indent forever instead of closing the object.
_COMPACT = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


class Grammars:
    """Matchers over one model's vocabulary. The vocabulary is read on the first constrained request
    (a quarter of a second for 49k tokens), so engines nobody constrains never pay for it."""

    def __init__(self, tokenizer: Tokenizer, vocab_size: int) -> None:
        self.tokenizer, self.vocab_size = tokenizer, vocab_size
        self.executor = LLExecutor()

    @cached_property
    def vocabulary(self) -> LLTokenizer:
        return LLTokenizer(self.tokenizer.backend.to_str(), n_vocab=self.vocab_size,
                           eos_token=sorted(self.tokenizer.eos_ids))

    def matcher(self, json_schema: str, field: str) -> LLMatcher:
        """A fresh matcher for output that matches `json_schema` (JSON text); an invalid schema, or one
        using a keyword llguidance does not implement, is an InvalidRequestError naming `field`."""
        try:
            grammar = LLMatcher.grammar_from_json_schema(json.loads(json_schema), defaults=_COMPACT)
        except (ValueError, TypeError) as e:
            raise InvalidRequestError.for_field(field, f"not a JSON schema: {e}") from None
        problem = LLMatcher.validate_grammar(grammar, self.vocabulary)
        if problem:
            raise InvalidRequestError.for_field(field, f"the schema cannot be enforced: {problem}")
        return LLMatcher(self.vocabulary, grammar, log_level=0)

    def constrain(self, logits: Tensor, matchers: Sequence[LLMatcher | None]) -> None:
        """Set every token a row's matcher forbids to -inf in `logits` [B, V], in place; rows without a
        matcher are left exactly as they were. The masks of all rows are computed in one parallel call."""
        rows = [r for r, m in enumerate(matchers) if m is not None]
        if not rows:
            return
        words = np.empty((len(rows), (self.vocab_size + 31) // 32), dtype=np.int32)
        self.executor.unsafe_compute_mask_ptr([(matchers[r], k) for k, r in enumerate(rows)], words.ctypes.data,
                                              words.shape[1] * words.itemsize, len(rows))
        allowed = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")[:, :logits.shape[-1]]
        index = torch.tensor(rows, device=logits.device)
        forbidden = torch.from_numpy(allowed == 0).to(logits.device)
        logits[index] = logits[index].masked_fill_(forbidden, -torch.inf)
