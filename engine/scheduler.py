"""The scheduler: which tokens of which sequences the next step computes. Plain Python, no tensors.

Like vLLM v1 it counts tokens, not phases: a sequence needs `num_tokens - num_computed` more tokens
computed, which is its whole prompt when it arrives (prefill), one token while it decodes, and its
prompt plus everything it generated after a preemption (recompute). A step takes every running
sequence's tokens, oldest first, and admits waiting ones in arrival order while the token budget,
the running limit and the free KV blocks allow; a long prompt is prefilled in chunks over several
steps, interleaved with the others' decoding.

A sequence admitted with nothing computed first takes back the cached blocks of its longest known
prefix (engine.kv_blocks) and computes only the rest; each block it fills is keyed for the next. One
submitted with a sibling of the same prompt waits until the sibling's prompt is computed.

Out of blocks: a waiting sequence waits. A running one that needs a block preempts the newest
running sequence, whose blocks are freed and which goes back to the front of the queue to be
recomputed; the oldest always progresses, so the engine never deadlocks.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from engine.kv_blocks import ROOT_KEY, BlockManager, block_key
from engine.sequence import Sequence


@dataclass(frozen=True)
class Chunk:
    """Compute positions [start, end) of `seq`; `samples` when that reaches its last token."""

    seq: Sequence
    start: int
    end: int

    @property
    def samples(self) -> bool:
        return self.end == self.seq.num_tokens


@dataclass(frozen=True)
class StepPlan:
    chunks: tuple[Chunk, ...]
    preempted: tuple[Sequence, ...]


class Scheduler:
    def __init__(self, blocks: BlockManager, *, max_running: int, token_budget: int) -> None:
        if token_budget < max_running:
            raise ValueError(f"token budget {token_budget} must cover one decode token for each of {max_running} sequences")
        self.blocks = blocks
        self.max_running = max_running
        self.token_budget = token_budget
        self.waiting: deque[Sequence] = deque()
        self.running: list[Sequence] = []  # in admission order: the last is preempted first
        self.prefix_queries = 0  # prompt tokens of admitted requests, and of them those found cached
        self.prefix_hits = 0

    def add(self, seq: Sequence) -> None:
        self.waiting.append(seq)

    def remove(self, seq: Sequence) -> bool:
        """Take `seq` out (finished or cancelled) and free its blocks at once; False if it was not here."""
        if seq in self.running:
            self.running.remove(seq)
        elif seq in self.waiting:
            self.waiting.remove(seq)
        else:
            return False
        self.blocks.release(seq.blocks)
        return True

    def schedule(self) -> StepPlan:
        chunks: list[Chunk] = []
        preempted: list[Sequence] = []
        # every decoding sequence gets its one token; prefills share what is left
        budget = self.token_budget - sum(1 for s in self.running if s.num_tokens - s.num_computed == 1)
        i = 0
        while i < len(self.running):
            seq = self.running[i]
            remaining = seq.num_tokens - seq.num_computed
            n = 1 if remaining == 1 else min(remaining, budget)
            if n == 0:
                i += 1
                continue
            while not self.blocks.grow(seq.blocks, seq.num_computed + n):
                victim = self.running.pop()
                self._preempt(victim)
                preempted.append(victim)
                if victim is seq:
                    break
            else:
                chunks.append(Chunk(seq, seq.num_computed, seq.num_computed + n))
                budget -= n if remaining > 1 else 0
                i += 1
        while self.waiting and len(self.running) < self.max_running and budget > 0:
            seq = self.waiting[0]
            if seq.waits:
                break  # a step from now its sibling's prompt is in the cache
            if seq.num_computed == 0 and seq.request.params.prompt_logprobs is None:  # scoring computes it all
                self._take_cached_prefix(seq)
            n = min(seq.num_tokens - seq.num_computed, budget)
            if not self.blocks.grow(seq.blocks, seq.num_computed + n):
                self.blocks.release(seq.blocks)  # its cached prefix goes back to the cache as it was
                seq.num_computed = 0
                break  # first come, first served: nothing overtakes the head of the queue
            self.running.append(self.waiting.popleft())
            if not seq.out:
                self.prefix_queries += len(seq.prompt_ids)
                self.prefix_hits += seq.cached_tokens
            chunks.append(Chunk(seq, seq.num_computed, seq.num_computed + n))
            budget -= n
        return StepPlan(tuple(chunks), tuple(preempted))

    def computed(self, chunk: Chunk) -> None:
        """Record that `chunk` was computed, and key each block of its sequence that it filled."""
        seq, size = chunk.seq, self.blocks.block_size
        seq.num_computed = chunk.end
        filled = range(chunk.start // size, chunk.end // size)
        if filled:
            keys = self._keys(seq, filled.stop)
            for j in filled:
                self.blocks.keep(seq.blocks[j], keys[j])

    def _keys(self, seq: Sequence, n: int) -> list[bytes]:
        """The keys of `seq`'s first `n` full blocks, each computed once a sequence: its tokens never change,
        whichever blocks hold them after a preemption."""
        size = self.blocks.block_size
        for j in range(len(seq.block_keys), n):
            previous = seq.block_keys[-1] if j else ROOT_KEY
            seq.block_keys.append(block_key(previous, seq.tokens(j * size, (j + 1) * size)))
        return seq.block_keys

    def _take_cached_prefix(self, seq: Sequence) -> None:
        """Start `seq` on the cached blocks of its prefix; its last token is always computed (its logits
        are what the step samples from)."""
        seq.blocks = self.blocks.take_prefix(self._keys(seq, (seq.num_tokens - 1) // self.blocks.block_size))
        seq.num_computed = len(seq.blocks) * self.blocks.block_size
        if not seq.out:
            seq.cached_tokens = seq.num_computed

    def _preempt(self, seq: Sequence) -> None:
        self.blocks.release(seq.blocks)
        seq.num_computed = 0
        seq.preemptions += 1
        self.waiting.appendleft(seq)
