"""A YAML file read into a strict pydantic model, every complaint naming the file, the line and the field:
suites, gate policies, price tables and SLOs all come in this way."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from evals.errors import EvalInputError, first_problem

Model = TypeVar("Model", bound=BaseModel)


def load_yaml_model(path: str | Path, model: type[Model], *, what: str) -> tuple[Model, yaml.Node | None]:
    """The file as `model`, and its YAML node tree (for the line of a later complaint: `line_of`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise EvalInputError(f"no such {what} file", file=path) from None
    except UnicodeDecodeError as e:
        raise EvalInputError(f"invalid UTF-8 at byte {e.start}", file=path) from None
    try:
        root = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise EvalInputError.from_yaml(e, file=path) from None
    if not isinstance(raw, dict | None):
        raise EvalInputError(f"a {what} must be a YAML mapping", file=path, line=1)
    try:
        return model.model_validate(raw or {}), root
    except ValidationError as e:
        raise EvalInputError.from_validation(e, file=path, line=line_of(root, first_problem(e)[0])) from None


def line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """The 1-based line of the deepest YAML node on the path `loc` (pydantic's error location). A key the
    mapping lacks is passed over: a missing field's, or the tag pydantic puts in the path of a tagged
    union (`slos.0.availability.target`)."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == str(key)), None)
            if found is None:
                continue
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            return line
        line = node.start_mark.line + 1
    return line
