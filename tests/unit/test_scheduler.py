"""The scheduler on its own, torch-free: hand-made sequences and hand-made step outputs, as in vLLM's tests."""

from __future__ import annotations

from engine.kv_blocks import BlockManager
from engine.request import GenerationRequest
from engine.sampling_params import SamplingParams
from engine.scheduler import Scheduler, StepPlan
from engine.sequence import Sequence
from engine.text_stream import TextStream


def seq(prompt_len: int, max_new: int = 100) -> Sequence:
    return Sequence(request=GenerationRequest(prompt="x", params=SamplingParams(max_tokens=max_new)),
                    prompt_ids=list(range(prompt_len)), max_new_tokens=max_new, generator=None,
                    text=TextStream(lambda ids: "", ()), arrived=0.0, sink=lambda *_: None)


def run_step(s: Scheduler) -> StepPlan:
    """Schedule, then play the runner: mark chunks computed and append a token where one is sampled."""
    plan = s.schedule()
    for c in plan.chunks:
        c.seq.num_computed = c.end
        if c.samples:
            c.seq.out.append(7)
            if len(c.seq.out) >= c.seq.max_new_tokens:
                s.remove(c.seq)
                c.seq.finish_reason = "length"
    return plan


def test_a_long_prompt_is_prefilled_in_chunks_while_running_sequences_keep_decoding() -> None:
    s = Scheduler(BlockManager(100, 4), max_running=8, token_budget=10)
    short = seq(3)
    s.add(short)
    run_step(s)  # short is prefilled and has its first token
    long = seq(25)
    s.add(long)
    sizes = []
    for _ in range(4):
        plan = run_step(s)
        by_seq = {id(c.seq): c.end - c.start for c in plan.chunks}
        assert by_seq[id(short)] == 1  # decoding never waits for the prefill
        sizes.append(by_seq.get(id(long), 0))
    assert sizes == [9, 9, 7, 1]  # the budget less the decode token, then the rest, then decoding
    assert long.num_computed == 26 and long.out == [7, 7]


def test_admission_waits_for_a_place_in_the_batch_and_keeps_arrival_order() -> None:
    s = Scheduler(BlockManager(100, 4), max_running=2, token_budget=64)
    a, b, c = seq(4, max_new=2), seq(4), seq(4)
    for x in (a, b, c):
        s.add(x)
    plan = run_step(s)
    assert [ch.seq for ch in plan.chunks] == [a, b] and list(s.waiting) == [c]
    run_step(s)  # a finishes
    plan = run_step(s)
    assert c in [ch.seq for ch in plan.chunks] and a not in s.running


def test_a_waiting_sequence_waits_for_free_blocks_and_nothing_overtakes_it() -> None:
    s = Scheduler(BlockManager(5, 4), max_running=8, token_budget=64)  # 4 usable blocks of 4
    running, big, small = seq(10, max_new=3), seq(9), seq(1)
    s.add(running)
    run_step(s)  # 3 blocks in use
    s.add(big)
    s.add(small)
    plan = run_step(s)
    assert [c.seq for c in plan.chunks] == [running] and list(s.waiting) == [big, small]
    run_step(s)  # running finishes and frees its blocks
    assert [c.seq for c in run_step(s).chunks] == [big, small]


def test_out_of_blocks_the_newest_running_sequence_is_preempted_and_recomputed() -> None:
    s = Scheduler(BlockManager(5, 2), max_running=8, token_budget=64)  # 4 usable blocks of 2 slots
    old, new = seq(3, max_new=4), seq(3, max_new=4)
    s.add(old)
    s.add(new)
    run_step(s)  # each: 3 prompt tokens computed, 1 generated, in 2 blocks: the pool is full
    run_step(s)  # position 3 still fits the second block
    assert s.blocks.usage().free == 0 and len(new.out) == 2
    plan = run_step(s)  # old needs a third block for position 4
    assert plan.preempted == (new,) and new.blocks == [] and new.num_computed == 0 and s.waiting[0] is new
    assert [c.seq for c in plan.chunks] == [old]
    while old.finish_reason is None:
        run_step(s)
    (chunk,) = s.schedule().chunks  # new comes back: its prompt and the tokens it generated are computed again
    assert chunk.seq is new and (chunk.start, chunk.end) == (0, 5) and chunk.samples


def test_everyone_finishes_under_heavy_block_pressure() -> None:
    s = Scheduler(BlockManager(9, 2), max_running=6, token_budget=12)  # 16 slots for 6 sequences of 9 tokens
    seqs = [seq(3 + i % 3, max_new=6 - i % 3) for i in range(6)]
    for x in seqs:
        s.add(x)
    for _ in range(200):
        if all(x.finish_reason for x in seqs):
            break
        run_step(s)
        assert s.blocks.usage().used <= 8
    assert all(len(x.out) == x.max_new_tokens for x in seqs)
    assert s.blocks.usage().used == 0 and not s.running and not s.waiting


def test_removing_a_sequence_frees_its_blocks_at_once() -> None:
    s = Scheduler(BlockManager(20, 4), max_running=4, token_budget=64)
    a, b = seq(10), seq(5)
    s.add(a)
    s.add(b)
    run_step(s)
    used = s.blocks.usage().used
    assert s.remove(a)
    assert s.blocks.usage().used == used - 3 and a not in s.running
    assert not s.remove(a)
