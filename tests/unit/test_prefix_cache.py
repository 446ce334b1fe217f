"""Automatic prefix caching: full blocks keyed by their whole prefix are taken back by a later request
with the same prefix, which computes only the rest and answers token for token as an engine that never
saw the prefix; cached blocks give way to new requests before any waits; the cached tokens show in the
usage (openai SDK), on the generation span, on /metrics and as the Engine page's hit rate."""

from __future__ import annotations

import json

import openai
import pandas as pd
import pytest

from engine import GenerationRequest, SamplingParams
from engine.async_engine import AsyncEngine
from engine.engine import BLOCK_SIZE, Engine
from engine.kv_blocks import ROOT_KEY, BlockManager, block_key
from evals.store import queries
from evals.store.spans import write_spans
from evals.store.store import Store
from telemetry.sinks import span_record
from tests.serving import app_in_thread, engine_gauges
from tests.telemetry_helpers import MemoryTelemetry

SHARED = "You are terse. Context: the red box holds 7."  # 45 byte tokens: two whole blocks and some


def keys(tokens: list[int], size: int) -> list[bytes]:
    """The chain of keys of the full blocks of `tokens`, as the scheduler computes them."""
    chain = [ROOT_KEY]
    for j in range(len(tokens) // size):
        chain.append(block_key(chain[-1], tokens[j * size:(j + 1) * size]))
    return chain[1:]


def keyed(blocks: BlockManager, tokens: list[int]) -> list[int]:
    """A table for `tokens`, every full block keyed as the scheduler keys them once computed."""
    table: list[int] = []
    assert blocks.grow(table, len(tokens))
    for j, key in enumerate(keys(tokens, blocks.block_size)):
        blocks.keep(table[j], key)
    return table


def take(blocks: BlockManager, tokens: list[int]) -> list[int]:
    return blocks.take_prefix(keys(tokens, blocks.block_size))


def test_a_released_prefix_is_taken_back_whole_blocks_only_and_only_at_the_same_positions() -> None:
    blocks = BlockManager(n_blocks=9, block_size=4)
    first = keyed(blocks, list(range(10)))  # two full blocks, and two tokens in a third
    kept = first[:2]  # a copy: release empties `first`
    blocks.release(first)
    assert blocks.usage().cached == 2 and blocks.usage().used == 0 and blocks.usage().free == 8
    assert take(blocks, list(range(9))) == kept  # the third block was never full: never keyed
    assert take(blocks, [1, *range(1, 8)]) == []  # one token differs in the first block: nothing matches
    assert take(blocks, list(range(4)) + [9, 9, 9, 9]) == kept[:1]


def test_a_shared_block_is_held_until_its_last_user_lets_go() -> None:
    blocks = BlockManager(n_blocks=5, block_size=2)
    a = keyed(blocks, [1, 2, 3, 4])
    b = take(blocks, [1, 2, 3, 4, 5])
    assert b == a and blocks.usage().used == 2
    blocks.release(a)
    assert blocks.usage().used == 2 and blocks.usage().cached == 0  # b still reads them
    blocks.release(b)
    assert blocks.usage().used == 0 and blocks.usage().cached == 2


def test_cached_blocks_give_way_least_recently_used_first_before_any_grow_fails() -> None:
    blocks = BlockManager(n_blocks=7, block_size=2)
    old, new = keyed(blocks, [1, 2, 3, 4]), keyed(blocks, [5, 6, 7, 8])
    blocks.release(old)
    blocks.release(list(new))  # a copy: release empties the table it is given
    assert blocks.usage().cached == 4 and blocks.usage().free == 6
    table: list[int] = []
    assert blocks.grow(table, 8)  # two never-keyed blocks, then the two least recently cached: `old`'s
    assert take(blocks, [1, 2, 3, 4, 0]) == [] and take(blocks, [5, 6, 7, 8, 0]) == new
    assert not blocks.grow(table, 10)  # every block is held now: only then does a grow fail


def test_a_twin_computed_meanwhile_stays_private() -> None:
    blocks = BlockManager(n_blocks=5, block_size=2)
    a, b = keyed(blocks, [1, 2]), keyed(blocks, [1, 2])  # both computed before either was keyed
    blocks.release(b)  # its block was never keyed: it is free, not cached
    assert blocks.usage().cached == 0 and blocks.usage().used == 1 and take(blocks, [1, 2, 0]) == a


@pytest.fixture(scope="module")
def served(tiny_gguf):
    memory = MemoryTelemetry()
    engine = Engine.load(tiny_gguf, device="cpu", max_batch_size=4, kv_cache_tokens=4096, telemetry=memory.tel)
    with app_in_thread(AsyncEngine(engine, max_waiting=16), memory.tel) as url:
        yield url, engine, memory


def ask(question: str, **params) -> GenerationRequest:
    return GenerationRequest(prompt=SHARED + question, params=SamplingParams(max_tokens=8, **params))


def test_the_second_request_computes_only_what_follows_the_shared_blocks(tiny_gguf) -> None:
    warm = Engine.load(tiny_gguf, device="cpu", max_batch_size=4, kv_cache_tokens=4096)
    first = warm.generate([ask(" A?", temperature=0)])[0]
    second = warm.generate([ask(" B?", temperature=0), ask(" C?", temperature=0.9, seed=3)])
    cold = Engine.load(tiny_gguf, device="cpu", max_batch_size=4, kv_cache_tokens=4096)
    alone = [cold.generate([r])[0] for r in (ask(" B?", temperature=0), ask(" C?", temperature=0.9, seed=3))]
    shared_blocks = len(warm.tokenizer.encode(SHARED)) // BLOCK_SIZE
    assert first.usage.cached_tokens == 0 and shared_blocks == 2
    assert [r.usage.cached_tokens for r in second] == [shared_blocks * BLOCK_SIZE] * 2
    assert [r.token_ids for r in second] == [r.token_ids for r in alone]
    assert [r.usage.cached_tokens for r in alone] == [0, shared_blocks * BLOCK_SIZE]  # C found B's prefix
    stats = warm.stats()
    assert stats.prefix_cache_hits_total == 2 * shared_blocks * BLOCK_SIZE
    assert stats.prefix_cache_queries_total == sum(r.usage.prompt_tokens for r in (first, *second))


def test_distinct_prompts_beyond_the_cache_all_run_evicting_old_prefixes(tiny_gguf) -> None:
    engine = Engine.load(tiny_gguf, device="cpu", max_batch_size=2, kv_cache_tokens=8 * BLOCK_SIZE)
    for i in range(12):  # each leaves two cached blocks; together 24, three times what the cache holds
        r = engine.generate([GenerationRequest(prompt=f"{i:02d} " + "x" * 40, params=SamplingParams(max_tokens=4))])[0]
        assert r.finish_reason in ("stop", "length") and r.usage.cached_tokens == 0
    stats = engine.stats()
    assert stats.kv_blocks_used == 0 and 0 < stats.kv_blocks_cached <= stats.kv_blocks_free == 8


def test_cached_tokens_show_in_usage_on_the_span_and_on_metrics(served) -> None:
    url, engine, memory = served
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
    before = engine_gauges(url)
    answers = [client.completions.create(model=engine.model_id, prompt=SHARED + q, max_tokens=4, temperature=0)
               for q in (" D?", " E?")]
    cached = [a.usage.prompt_tokens_details.cached_tokens for a in answers]
    assert cached[1] == 2 * BLOCK_SIZE and cached[0] in (0, 2 * BLOCK_SIZE)  # other tests may have warmed it
    spans = {s.attributes["gen_ai.response.id"]: s for s in memory.finished("text_completion", wait_for=2)}
    assert spans[answers[1].id].attributes["gen_ai.usage.cache_read.input_tokens"] == cached[1]
    after = engine_gauges(url)
    hits = "goldgate_engine_prefix_cache_hits_total"
    queries = "goldgate_engine_prefix_cache_queries_total"
    assert after[hits] - before.get(hits, 0) == sum(cached)
    assert after[queries] - before.get(queries, 0) == sum(a.usage.prompt_tokens for a in answers)


def test_the_engine_pages_hit_rate_is_cached_over_prompt_tokens_per_second(served, tmp_path) -> None:
    url, engine, memory = served
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
    for q in (" F?", " G?", " H?"):
        client.completions.create(model=engine.model_id, prompt=SHARED + q, max_tokens=2, temperature=0)
    rows = [span_record(s) for s in memory.finished("text_completion", wait_for=3)]
    store = Store(tmp_path / "gg.duckdb")
    write_spans(store, rows)
    with store.read() as con:
        frame = queries.traffic(con, None, None)
    by_second: dict[pd.Timestamp, list[int]] = {}
    for r in rows:
        sums = by_second.setdefault(pd.Timestamp(r.end_time).floor("s"), [0, 0])
        sums[0] += json.loads(r.attributes)["gen_ai.usage.cache_read.input_tokens"]
        sums[1] += r.input_tokens
    assert dict(zip(frame["t"], frame["prefix_cache_hit_rate"])) == pytest.approx(
        {t: cached / prompt for t, (cached, prompt) in by_second.items()})
    assert frame["prefix_cache_hit_rate"].max() > 0
