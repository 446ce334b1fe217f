"""An Inspect AI task run by tests/integration/test_inspect_drives_serve.py with Inspect's own `openai-api`
provider against `goldgate serve`: a structured output, log probabilities, three choices, and a forced
tool call that Inspect executes. What came back goes into the sample's metadata for the test to check."""

import json
from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.model import ChatMessageTool, GenerateConfig, ResponseSchema, get_model
from inspect_ai.scorer import Score, accuracy, scorer
from inspect_ai.solver import generate, solver, use_tools
from inspect_ai.tool import ToolFunction, tool
from inspect_ai.util import JSONSchema

# Inspect's JSONSchema keeps no maxItems, so the schema has no arrays: a small model repeats items forever
CITY = json.loads((Path(__file__).parent / "city.schema.json").read_text())


@tool
def add():
    async def execute(x: int, y: int) -> int:
        """Add two integers.

        Args:
            x: The first integer.
            y: The second integer.
        """
        return x + y
    return execute


@solver
def probe():
    async def solve(state, generate_):
        model = get_model()
        out = await model.generate("Describe a city as JSON.", config=GenerateConfig(
            response_schema=ResponseSchema(name="city", json_schema=JSONSchema.model_validate(CITY)),
            max_tokens=200, temperature=0))
        state.metadata["structured"] = out.completion
        out = await model.generate("Say hi.", config=GenerateConfig(logprobs=True, top_logprobs=3, max_tokens=5,
                                                                  temperature=0))
        state.metadata["logprobs"] = [[e.logprob, [t.logprob for t in e.top_logprobs]]
                                      for e in out.choices[0].logprobs.content]
        out = await model.generate("Say hi.", config=GenerateConfig(num_choices=3, max_tokens=8, temperature=0.9,
                                                                  seed=1))
        state.metadata["choices"] = [c.message.text for c in out.choices]
        return state
    return solve


@scorer(metrics=[accuracy()])
def tool_ran():
    async def score(state, target):
        results = [m for m in state.messages if isinstance(m, ChatMessageTool)]
        calls = [c for m in state.messages if getattr(m, "tool_calls", None) for c in m.tool_calls]
        state.metadata["calls"] = [[c.function, c.arguments] for c in calls]
        state.metadata["results"] = [m.text for m in results]
        return Score(value=float(bool(results)))
    return score


@task
def drive():
    return Task(dataset=[Sample(input="Add 2 and 3 with the tool.", target="5")],
                solver=[probe(), use_tools(add(), tool_choice=ToolFunction("add")), generate(tool_calls="single")],
                scorer=tool_ran())
