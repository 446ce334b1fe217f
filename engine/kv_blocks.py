"""The KV block manager: hands out fixed-size blocks of cache slots by id, and never touches a tensor.

A sequence's block table lists its blocks in order; position p of the sequence lives in slot
`table[p // block_size] * block_size + p % block_size` of the paged cache. Block 0 is never handed
out: padding reads and writes go there, so they can never land in a sequence's blocks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BlockUsage:
    total: int  # blocks that can be handed out (the reserved padding block is not counted)
    used: int
    block_size: int

    @property
    def free(self) -> int:
        return self.total - self.used


class BlockManager:
    PADDING_BLOCK = 0

    def __init__(self, n_blocks: int, block_size: int) -> None:
        if n_blocks < 2 or block_size < 1:
            raise ValueError(f"need at least 2 blocks of at least 1 slot, got {n_blocks} blocks of {block_size}")
        self.block_size = block_size
        self.n_blocks = n_blocks
        self._free = list(range(n_blocks - 1, 0, -1))  # a stack; block 0 is the padding block

    def blocks_for(self, n_tokens: int) -> int:
        return -(-n_tokens // self.block_size)

    def grow(self, table: list[int], n_tokens: int) -> bool:
        """Extend `table` to hold `n_tokens` positions; False (and `table` unchanged) if blocks run out."""
        need = self.blocks_for(n_tokens) - len(table)
        if need > len(self._free):
            return False
        for _ in range(max(need, 0)):
            table.append(self._free.pop())
        return True

    def release(self, table: list[int]) -> None:
        """Give every block of `table` back at once and empty it."""
        self._free.extend(reversed(table))
        table.clear()

    def usage(self) -> BlockUsage:
        total = self.n_blocks - 1
        return BlockUsage(total=total, used=total - len(self._free), block_size=self.block_size)
