"""Inspect AI's own `openai-api` provider drives `goldgate serve` on the default model unchanged: a JSON-schema
structured output that validates, log probabilities in order, three choices of one request, and a forced tool
call whose arguments match the tool's signature, which Inspect then executes (inspect_task/probe.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from tests.serving import goldgate_serve

pytestmark = [pytest.mark.model, pytest.mark.slow]
TASK = Path(__file__).parent / "inspect_task"
INSPECT = "GOLDGATE_INSPECT"  # set by `make test` to the `inspect` of Inspect AI's own virtual environment


def test_inspect_ais_openai_api_provider_gets_all_of_it(tmp_path: Path, default_model_path: Path) -> None:
    inspect = os.environ.get(INSPECT)
    assert inspect and Path(inspect).exists(), f"{INSPECT} must name Inspect AI's `inspect`; `make test` builds it"
    shutil.copytree(TASK, tmp_path / "task")
    with goldgate_serve("--device", "cpu", log=tmp_path / "serve.log") as url:
        env = os.environ | {"GOLDGATE_API_KEY": "unused", "GOLDGATE_BASE_URL": f"{url}/v1",
                            "INSPECT_LOG_DIR": str(tmp_path / "logs")}
        subprocess.run([inspect, "eval", "probe.py", "--model", f"openai-api/goldgate/{default_model_path.stem}",
                        "--display", "none"], check=True, cwd=tmp_path / "task", env=env, timeout=600)
    (log,) = (tmp_path / "logs").glob("*.eval")
    dump = json.loads(subprocess.run([inspect, "log", "dump", str(log)], check=True, capture_output=True, text=True,
                                     env=env).stdout)
    assert dump["status"] == "success" and dump["samples"][0].get("error") is None
    seen = dump["samples"][0]["metadata"]
    jsonschema.validate(json.loads(seen["structured"]), json.loads((TASK / "city.schema.json").read_text()))
    assert seen["logprobs"] and all(chosen <= 0 and top == sorted(top, reverse=True) and top[0] == chosen
                                    for chosen, top in seen["logprobs"])  # greedy: the likeliest was chosen
    assert len(seen["choices"]) == 3
    ((name, arguments),) = seen["calls"]
    assert name == "add" and set(arguments) == {"x", "y"} and all(isinstance(v, int) for v in arguments.values())
    assert seen["results"] == [str(arguments["x"] + arguments["y"])]  # Inspect ran the tool on those arguments
