"""`goldgate replay TRACE_ID --model M | --endpoint URL`: re-send a captured production request to another
model and show the two answers side by side; refused (exit 2) when the request's content was not captured."""

from __future__ import annotations

import argparse
from pathlib import Path

from evals.cli.common import add_db_option, backend_from_flags, existing_store
from evals.cli.exit_codes import EXIT_OK
from evals.errors import EvalInputError
from evals.settings import Settings


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    p = commands.add_parser("replay", help="re-send a captured request to another model, answers side by side")
    p.add_argument("trace_id", metavar="TRACE_ID", help="the production trace whose request to replay")
    p.add_argument("--model", help="the model to replay on: a known name, GGUF file or folder; with --endpoint, its name")
    p.add_argument("--endpoint", metavar="URL", help="an OpenAI-compatible base URL to replay on")
    p.add_argument("--judge", type=Path, help="a pointwise judge prompt that scores both answers")
    p.add_argument("--judge-model", help="the judge model (default: the default model); with --judge-endpoint, its name")
    p.add_argument("--judge-endpoint", metavar="URL", help="an OpenAI-compatible base URL for the judge")
    add_db_option(p, settings)
    p.add_argument("--json", action="store_true", help="print both answers as JSON")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    import json
    from dataclasses import asdict

    from evals.golden.harvest import production_example
    from evals.judges.challenge import CHALLENGE_SAMPLING, answer_all
    from evals.judges.judge import JUDGE_SAMPLING, Judge
    from evals.judges.replay import describe, judged
    from evals.judges.spec import load_judge_prompt
    from evals.render.replay import print_replay
    from evals.store.production import trace_generations
    from evals.store.retention import record_content_read
    from telemetry.messages import messages_text
    from telemetry.redact import Redactor

    prompt = load_judge_prompt(args.judge) if args.judge else None
    if prompt is not None and prompt.spec.mode != "pointwise":
        raise EvalInputError("replay scores each answer with a pointwise judge", file=args.judge, field="mode")
    store = existing_store(args.db)
    generations = trace_generations(store, args.trace_id)
    if generations.empty:
        raise EvalInputError(f"no generation in trace {args.trace_id!r}", file=args.db)
    captured = generations[generations["input_messages"].notna()]
    if captured.empty:
        raise EvalInputError(f"trace {args.trace_id}: its content was not captured, so there is no request to replay "
                             "(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT captures it)", file=args.db)
    row = next(captured.itertuples(index=False))
    example = production_example(row, Redactor())
    if example is None:
        raise EvalInputError(f"trace {args.trace_id}: the captured request is not one goldgate can replay", file=args.db)
    record_content_read(store, "goldgate replay", args.trace_id, 1)
    new = answer_all(backend_from_flags(args.model, args.endpoint, CHALLENGE_SAMPLING, settings), [example],
                     CHALLENGE_SAMPLING)[example.id]
    if new.error is not None:
        raise EvalInputError(f"the replay failed: {new.error}", field="--endpoint" if args.endpoint else "--model")
    answers = (describe(messages_text(row.output_messages) or "", row.finish_reason, _int(row.output_tokens),
                        row.duration_s),
               describe(new.output or "", new.finish_reason, new.completion_tokens, new.latency_s))
    if prompt is not None:
        answers = judged(example, answers, Judge(prompt, backend_from_flags(args.judge_model, args.judge_endpoint,
                                                                              JUDGE_SAMPLING, settings)))
    labels = (f"captured ({row.model})", f"replayed ({args.model or 'default model'})")
    if args.json:
        print(json.dumps({"trace_id": args.trace_id, "input": example.model_dump(mode="json")["input"],
                          "answers": [{"label": label, **asdict(a)} for label, a in zip(labels, answers)]}, indent=2))
    else:
        print_replay(example, answers, labels)
    return EXIT_OK


def _int(value) -> int | None:
    return None if value is None or value != value else int(value)  # NULL comes back as NaN
