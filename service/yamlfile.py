"""Load a YAML file into a pydantic model, with errors that say file:line:col.

PyYAML's composed node tree keeps the position of every key and value; we walk
it once to map each location (``("feeds", 0, "interval")``) to its mark, then
translate pydantic's error locations through that map.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from service.errors import ConfigFileError, FileProblem

M = TypeVar("M", bound=BaseModel)
Location = tuple[str | int, ...]


class _Marks:
    def __init__(self) -> None:
        self.values: dict[Location, yaml.Mark] = {}
        self.keys: dict[Location, yaml.Mark] = {}

    def walk(self, loader: yaml.SafeLoader, node: yaml.Node, loc: Location) -> None:
        self.values[loc] = node.start_mark
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node, deep=True)
                if isinstance(key, str | int):
                    self.keys[(*loc, key)] = key_node.start_mark
                    self.walk(loader, value_node, (*loc, key))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.walk(loader, item, (*loc, index))

    def find(self, loc: Location, *, prefer_key: bool) -> yaml.Mark | None:
        if prefer_key and loc in self.keys:
            return self.keys[loc]
        # A missing field has no mark of its own: point at its nearest parent.
        for end in range(len(loc), -1, -1):
            mark = self.values.get(loc[:end])
            if mark is not None:
                return mark
        return None


def _field_names(model: type[BaseModel]) -> Iterator[str]:
    for name, field in model.model_fields.items():
        yield field.alias or name
        for arg in _model_types(field.annotation):
            yield from _field_names(arg)


def _model_types(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in getattr(annotation, "__args__", ()):
        yield from _model_types(arg)


def _message(err: Any, known: list[str]) -> str:
    loc = err["loc"]
    where = ".".join(str(p) for p in loc) or "document"
    if err["type"] == "extra_forbidden" and loc:
        key = str(loc[-1])
        guess = difflib.get_close_matches(key, known, n=1)
        hint = f", did you mean '{guess[0]}'?" if guess else ""
        return f"unknown key '{key}'{hint}"
    if err["type"] == "missing":
        return f"missing required key '{loc[-1]}'" if loc else "missing"
    return f"{where}: {err['msg']}"


def problems_from_validation(
    path: str, exc: ValidationError, marks: _Marks, model: type[BaseModel]
) -> list[FileProblem]:
    known = sorted(set(_field_names(model)))
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        mark = marks.find(loc, prefer_key=err["type"] == "extra_forbidden")
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.append(FileProblem(path, line, col, _message(err, known)))
    return problems


def load_yaml(path: Path) -> tuple[Any, _Marks]:
    """Parse one YAML document; raises ConfigFileError on I/O or syntax errors."""
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError([FileProblem(shown, 1, 1, f"cannot read file: {exc}")]) from None
    loader = yaml.SafeLoader(text)
    marks = _Marks()
    try:
        node = loader.get_single_node()
        if node is None:
            return None, marks
        marks.walk(loader, node, ())
        return loader.construct_document(node), marks
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ConfigFileError([FileProblem(shown, line, col, f"invalid YAML: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError([FileProblem(shown, 1, 1, f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()


def load_model(path: Path, model: type[M]) -> M:
    """Read ``path`` as YAML and validate it as ``model``, or raise ConfigFileError."""
    data, marks = load_yaml(path)
    if data is None:
        data = {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigFileError(problems_from_validation(str(path), exc, marks, model)) from None
