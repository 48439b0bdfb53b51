"""YAML loading that remembers where every key and value was written.

Schema errors are reported against paths such as ``("parts", "leader", "min")``;
this module maps such a path back to the line and column in the file, so that
every error points at the text the user has to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from service.matching.errors import RuleError, RuleLoadError

Path = tuple[str | int, ...]

# libyaml parses the gazetteers several times faster than the pure-Python parser
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Mark:
    line: int  # 1-based
    col: int  # 1-based


@dataclass
class MarkedDocument:
    """A parsed YAML document and the position of each key and value in it."""

    path: str
    data: Any
    key_marks: dict[Path, Mark] = field(default_factory=dict)
    value_marks: dict[Path, Mark] = field(default_factory=dict)

    def locate(self, loc: Path, *, at_key: bool = False) -> Mark:
        """The position of ``loc``, or of its nearest ancestor that was written down."""
        for end in range(len(loc), -1, -1):
            prefix = loc[:end]
            marks = self.key_marks if at_key else self.value_marks
            if prefix in marks:
                return marks[prefix]
            if prefix in self.value_marks:
                return self.value_marks[prefix]
        return Mark(1, 1)

    def error(self, loc: Path, message: str, *, at_key: bool = False, offset: int = 0) -> RuleError:
        mark = self.locate(loc, at_key=at_key)
        return RuleError(self.path, mark.line, mark.col + offset, message)


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def load_marked(text: str, path: str) -> MarkedDocument:
    """Parse one YAML document; raise ``RuleLoadError`` on syntax errors or duplicate keys."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return MarkedDocument(path, None)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise RuleLoadError([RuleError(path, line, col, f"YAML syntax error: {problem}")]) from None
    finally:
        loader.dispose()
    document = MarkedDocument(path, data)
    duplicates: list[RuleError] = []
    _walk(node, (), document, duplicates)
    if duplicates:
        raise RuleLoadError(duplicates)
    return document


def _walk(node: yaml.Node, loc: Path, doc: MarkedDocument, errors: list[RuleError]) -> None:
    doc.value_marks[loc] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, Mark] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            here = _mark(key_node)
            if key in seen:
                first = seen[key]
                # PyYAML silently keeps the last value; an edit that lands on
                # a repeated key would then be ignored without a word.
                message = f"duplicate key '{key}' (first at line {first.line})"
                errors.append(RuleError(doc.path, here.line, here.col, message))
                continue
            seen[key] = here
            doc.key_marks[(*loc, key)] = here
            _walk(value_node, (*loc, key), doc, errors)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            doc.key_marks[(*loc, index)] = _mark(item)
            _walk(item, (*loc, index), doc, errors)
