"""The block manager: tables grow by whole blocks, a refusal changes nothing, padding is never handed out."""

from __future__ import annotations

import pytest

from engine.kv_blocks import BlockManager


def test_tables_grow_by_whole_blocks_and_release_gives_every_block_back() -> None:
    blocks = BlockManager(n_blocks=9, block_size=4)
    a, b = [], []
    assert blocks.grow(a, 5) and len(a) == 2
    assert blocks.grow(a, 8) and len(a) == 2  # still fits
    assert blocks.grow(b, 9) and len(b) == 3
    assert set(a).isdisjoint(b)
    assert blocks.usage().used == 5 and blocks.usage().free == 3
    blocks.release(a)
    assert a == [] and blocks.usage().used == 3


def test_a_refused_grow_leaves_the_table_and_the_pool_unchanged() -> None:
    blocks = BlockManager(n_blocks=4, block_size=2)
    table: list[int] = []
    assert blocks.grow(table, 4)
    before = list(table)
    assert not blocks.grow(table, 9)  # needs 5 blocks; 3 exist
    assert table == before and blocks.usage().free == 1


def test_the_padding_block_is_never_handed_out() -> None:
    blocks = BlockManager(n_blocks=6, block_size=1)
    table: list[int] = []
    assert blocks.grow(table, 5) and not blocks.grow(table, 6)
    assert BlockManager.PADDING_BLOCK not in table and sorted(table) == [1, 2, 3, 4, 5]


def test_a_pool_too_small_to_hold_anything_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 blocks"):
        BlockManager(n_blocks=1, block_size=16)
