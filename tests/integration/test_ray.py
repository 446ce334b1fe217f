"""`goldgate run --ray`: a real local Ray cluster on loopback (a head without CPUs and two worker nodes of
one CPU each, so each actor runs on its own node), driven through the real CLI in its own process. The
run on the cluster must store exactly the rows of the same run without it, with every generation's span
brought back from its actor and hung under its example's span."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import duckdb
import pytest

from tests.eval_files import examples, write_jsonl, write_suite

pytestmark = pytest.mark.slow

# Ray's nodes, and a driver joining them, take the machine's outward address; this keeps all of them on
# loopback (Ray's own switch for single-machine clusters, named for the systems where it is the default).
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
RESULT_COLUMNS = "example_id, epoch, output, finish_reason, prompt_tokens, completion_tokens, error, cached"


@pytest.fixture(scope="module")
def cluster_address() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as env:
        for k, v in LOOPBACK.items():
            env.setenv(k, v)
        from ray.cluster_utils import Cluster

        on_loopback = {"node_ip_address": "127.0.0.1"}
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False,
                                                                **on_loopback})
        for _ in range(2):
            cluster.add_node(num_cpus=1, **on_loopback)
        cluster.wait_for_nodes()
        assert cluster.address.startswith("127.0.0.1:"), cluster.address
        yield cluster.address
        cluster.shutdown()


def goldgate_run(suite: Path, db: Path, *extra: str) -> str:
    done = subprocess.run([sys.executable, "-m", "evals.cli", "run", str(suite), "--db", str(db), *extra],
                          capture_output=True, text=True, timeout=300, env=os.environ | LOOPBACK)
    assert done.returncode == 0, done.stderr
    return done.stderr


def stored(db: Path) -> tuple[list, list]:
    with duckdb.connect(str(db), read_only=True) as con:
        results = con.execute(f"SELECT {RESULT_COLUMNS} FROM results ORDER BY example_id, epoch").fetchall()
        scores = con.execute("SELECT example_id, epoch, scorer, value, explanation FROM scores "
                             "ORDER BY ALL").fetchall()
    return results, scores


def test_a_run_on_a_two_worker_cluster_stores_the_same_rows_as_without_it(
        cluster_address: str, tiny_gguf: Path, tmp_path: Path) -> None:
    golden = write_jsonl(tmp_path / "golden.jsonl", examples(40))
    suite = write_suite(tmp_path / "suite.yaml", golden, tiny_gguf, epochs=2)
    goldgate_run(suite, tmp_path / "here.duckdb")
    log = goldgate_run(suite, tmp_path / "ray.duckdb", "--ray", cluster_address)

    here, on_ray = stored(tmp_path / "here.duckdb"), stored(tmp_path / "ray.duckdb")
    assert len(here[0]) == 80 and here[1]
    assert on_ray == here
    assert "ray: 2 actors, one per CPU" in log, log
    answered = [int(part.rsplit(" ", 1)[1]) for part in log.split("ray: actor ", 1)[1].splitlines()[0].split(", ")]
    assert sum(answered) == 80 and min(answered) > 0, log  # both actors did part of the work

    with duckdb.connect(str(tmp_path / "ray.duckdb"), read_only=True) as con:
        hung = con.execute("SELECT count(*), count(*) FILTER (g.parent_span_id = r.span_id AND g.trace_id = r.trace_id) "
                           "FROM results r JOIN spans g ON g.span_id = r.generation_span_id").fetchone()
    assert hung == (80, 80)  # every generation's span came back from its actor, under its example's span


def test_a_model_the_actors_cannot_load_exits_2_with_its_message(cluster_address: str, tmp_path: Path) -> None:
    golden = write_jsonl(tmp_path / "golden.jsonl", examples(4))
    suite = write_suite(tmp_path / "suite.yaml", golden, tmp_path / "missing.gguf")
    done = subprocess.run([sys.executable, "-m", "evals.cli", "run", str(suite), "--db", str(tmp_path / "gg.duckdb"),
                           "--ray", cluster_address], capture_output=True, text=True, timeout=300,
                          env=os.environ | LOOPBACK)
    errors = [line for line in done.stderr.splitlines() if line.startswith("goldgate: error:")]
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr  # (RayWorker) lines are Ray's
    assert len(errors) == 1 and "missing.gguf: no such model file" in errors[0], done.stderr
