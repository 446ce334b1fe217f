"""The KV block manager: hands out fixed-size blocks of cache slots by id, and never touches a tensor.

A sequence's block table lists its blocks in order; position p of the sequence lives in slot
`table[p // block_size] * block_size + p % block_size` of the paged cache. Block 0 is never handed
out: padding reads and writes go there, so they can never land in a sequence's blocks.

Automatic prefix caching: a full block is keyed by a digest of its tokens chained to the digest of
the blocks before it, so one key names one whole prefix at fixed positions. A keyed block a request
leaves behind keeps its keys and values while nobody needs its memory: it waits among the free
blocks, least recently used first, and a later request with the same prefix takes it back instead
of computing it. A block in use by several requests is read by all of them and written by none
(each writes only after its prefix). Blocks are always taken never-keyed first, then the least
recently used cached ones, so a cached prefix is given up before any request waits for memory.
"""

from __future__ import annotations

import hashlib
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from typing import Sequence

ROOT_KEY = b""  # the chain's start: what the first block of every sequence follows


@dataclass(frozen=True)
class BlockUsage:
    total: int  # blocks that can be handed out (the reserved padding block is not counted)
    used: int  # held by live requests
    block_size: int
    cached: int = 0  # free, but holding a prefix a later request can take back

    @property
    def free(self) -> int:
        return self.total - self.used


def block_key(previous: bytes, tokens: Sequence[int]) -> bytes:
    """The key of a full block: its tokens and, through `previous`, every token before it."""
    return hashlib.sha256(previous + array("q", tokens).tobytes()).digest()


class BlockManager:
    PADDING_BLOCK = 0

    def __init__(self, n_blocks: int, block_size: int) -> None:
        if n_blocks < 2 or block_size < 1:
            raise ValueError(f"need at least 2 blocks of at least 1 slot, got {n_blocks} blocks of {block_size}")
        self.block_size = block_size
        self.n_blocks = n_blocks
        self._free = list(range(n_blocks - 1, 0, -1))  # a stack of blocks holding nothing; 0 is the padding block
        self._users: dict[int, int] = {}  # block -> how many live tables hold it
        self._key_of: dict[int, bytes] = {}  # keyed blocks, in use or cached
        self._block_of: dict[bytes, int] = {}
        self._cached: OrderedDict[int, None] = OrderedDict()  # keyed blocks nobody holds, least recently used first

    def blocks_for(self, n_tokens: int) -> int:
        return -(-n_tokens // self.block_size)

    def grow(self, table: list[int], n_tokens: int) -> bool:
        """Extend `table` to hold `n_tokens` positions; False (and `table` unchanged) if blocks run out."""
        need = self.blocks_for(n_tokens) - len(table)
        if need > len(self._free) + len(self._cached):
            return False
        for _ in range(max(need, 0)):
            block = self._free.pop() if self._free else self._evict()
            self._users[block] = 1
            table.append(block)
        return True

    def take_prefix(self, keys: Sequence[bytes]) -> list[int]:
        """The cached blocks that hold the longest run of `keys` (a sequence's block keys, in order), now
        held by the caller (a new table), or [] when the first block is not cached."""
        table = []
        for key in keys:
            block = self._block_of.get(key)
            if block is None:
                break
            self._cached.pop(block, None)
            self._users[block] = self._users.get(block, 0) + 1
            table.append(block)
        return table

    def keep(self, block: int, key: bytes) -> None:
        """Key `block` (full, its keys and values computed) so that it can be shared and cached. The first
        block computed for a prefix is its cached one; a twin computed meanwhile stays private."""
        if key not in self._block_of and block not in self._key_of:
            self._block_of[key], self._key_of[block] = block, key

    def release(self, table: list[int]) -> None:
        """Let go of every block of `table` and empty it: keyed blocks nobody else holds are cached, the
        rest are free; the table's last blocks (the least likely to be shared) are the first taken."""
        for block in reversed(table):
            self._users[block] -= 1
            if self._users[block]:
                continue
            del self._users[block]
            if block in self._key_of:
                self._cached[block] = None
            else:
                self._free.append(block)
        table.clear()

    def usage(self) -> BlockUsage:
        total = self.n_blocks - 1
        return BlockUsage(total=total, used=len(self._users), block_size=self.block_size, cached=len(self._cached))

    def _evict(self) -> int:
        block, _ = self._cached.popitem(last=False)
        del self._block_of[self._key_of.pop(block)]
        return block
