"""Turn pydantic validation errors into located, human-sized messages.

Pydantic reports paths into the data and, for unions, one error per branch;
users need the line to edit and one sentence about it, with a suggestion
when a key is misspelt.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from service.matching.errors import RuleError
from service.matching.yaml_marks import MarkedDocument, Path


def validation_errors(exc: ValidationError, model: type[BaseModel], doc: MarkedDocument) -> list[RuleError]:
    located: list[tuple[Path, str, bool, str]] = []
    misspelt: set[Path] = set()  # required keys that a misspelt key was meant to be
    for detail in exc.errors(include_url=False):
        found = _locate(detail, doc.data)
        if found is None:
            continue
        path, message, at_key = found
        if detail["type"] == "extra_forbidden":
            message, meant = _unknown_key(path, model)
            if meant is not None:
                misspelt.add((*path[:-1], meant))
        located.append((path, message, at_key, detail["type"]))
    errors: list[RuleError] = []
    seen: set[tuple[Path, str]] = set()
    for path, message, at_key, kind in located:
        if (path, message) in seen or (kind == "missing" and path in misspelt):
            continue
        seen.add((path, message))
        errors.append(doc.error(path, message, at_key=at_key))
    return errors


def _locate(detail: Any, data: Any) -> tuple[Path, str, bool] | None:
    """The data path of one error, or None when it belongs to a union branch the input did not take."""
    path: list[str | int] = []
    node = data
    for elem in detail["loc"]:
        if (isinstance(node, dict) and elem in node) or (
            isinstance(node, list) and isinstance(elem, int) and elem < len(node)
        ):
            path.append(elem)
            node = node[elem]
        elif detail["type"] in ("extra_forbidden", "missing") and elem == detail["loc"][-1]:
            path.append(elem)
            node = None
        elif isinstance(elem, str) and elem[:1].isupper():
            # a union branch named after a model: keep it only for mapping input
            if not isinstance(node, dict):
                return None
        elif isinstance(node, dict) and not detail["type"].endswith("_type"):
            continue
        elif isinstance(node, dict):
            return None
    dotted = ".".join(str(p) for p in path) or "file"
    kind = detail["type"]
    if kind == "missing":
        return tuple(path), f"missing key '{path[-1]}'", True
    msg = str(detail["msg"]).removeprefix("Value error, ")
    if kind.endswith("_type") and isinstance(node, dict):
        msg = "expected a single value, not a mapping"
    return tuple(path), f"{dotted}: {msg}", kind == "extra_forbidden"


def _unknown_key(path: Path, model: type[BaseModel]) -> tuple[str, str | None]:
    """The message for an unknown key, and the key it was probably meant to be."""
    key = str(path[-1])
    allowed = _keys_at(model, path[:-1])
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key '{key}', did you mean '{close[0]}'?", close[0]
    if allowed:
        return f"unknown key '{key}' (expected one of: {', '.join(sorted(allowed))})", None
    return f"unknown key '{key}'", None


def _keys_at(model: type[BaseModel], path: Path) -> list[str]:
    target: Any = model
    for elem in path:
        target = _step(target, elem)
        if target is None:
            return []
    target = _as_model(target)
    if target is None:
        return []
    return [field.alias or name for name, field in target.model_fields.items()]


def _step(annotation: Any, elem: str | int) -> Any:
    model = _as_model(annotation)
    if model is not None:
        field = next(
            (f for n, f in model.model_fields.items() if elem in (n, f.alias)),
            None,
        )
        return None if field is None else field.annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (list, tuple) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            stepped = _step(arg, elem)
            if stepped is not None:
                return stepped
    if origin is typing.Annotated:
        return _step(args[0], elem)
    return None


def _as_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _as_model(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            model = _as_model(arg)
            if model is not None:
                return model
    return None
