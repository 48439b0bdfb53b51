"""Load YAML into a pydantic model, with every problem reported as file:line:col.

Pydantic reports errors against data paths such as ``("feeds", 0, "interval")``
and, for unions, one error per branch; the person editing the file needs the
line to change and one sentence about it. A ``MarkedDocument`` remembers where
each key and value of a document was written, so that schema errors, and any
later check of a caller's own (the rules compiler's), can point at the text.

Every operator file (rules, feeds, subscriptions) comes through here, so this
is where their size is bounded: an alias repeats a whole subtree, and a few
hundred bytes of aliases of aliases stand for billions of values ("billion
laughs"). The parsed document is measured as it would be expanded, without
expanding it, before anything walks, constructs or validates it.
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from service.errors import ConfigFileError, FileProblem

M = TypeVar("M", bound=BaseModel)
Location = tuple[str | int, ...]

# libyaml parses the rule gazetteers several times faster than the pure-Python parser
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """The safe loader, whose values that cannot be built (a 13th month) are errors at their line."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value: {exc}", node.start_mark
            ) from None


_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"

# Far above any real file (the shipped rules library is 170 KB in all, its
# largest list a few thousand values), far below what stalls a process.
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_VALUES = 250_000  # keys, values and list items, each alias counted as all it repeats
MAX_DEPTH = 64


@dataclass(frozen=True)
class Mark:
    line: int  # 1-based
    col: int  # 1-based


@dataclass
class MarkedDocument:
    """A parsed YAML document and the position of each key and value in it.

    The positions are read from the parsed nodes when asked for (``root``): a load
    asks for a few of them, an error or an example's line, and writing down the
    tens of thousands of a gazetteer's would cost a good part of reading it.
    Documents whose nodes cannot be walked by key as plainly (keys that are not
    strings, merges) have every position written down at load instead.
    """

    path: str
    data: Any
    key_marks: dict[Location, Mark] = field(default_factory=dict)
    value_marks: dict[Location, Mark] = field(default_factory=dict)
    source: str = ""  # the text, to place errors inside a multi-line value
    # the parsed nodes, whose mappings all have distinct string keys (see _plain_tree)
    root: yaml.Node | None = None

    def locate(self, loc: Location, *, at_key: bool = False) -> Mark:
        """The position of ``loc``, or of its nearest ancestor that was written down."""
        if self.root is not None:
            return _locate_in(self.root, loc, at_key=at_key)
        for end in range(len(loc), -1, -1):
            prefix = loc[:end]
            marks = self.key_marks if at_key else self.value_marks
            if prefix in marks:
                return marks[prefix]
            if prefix in self.value_marks:
                return self.value_marks[prefix]
        return Mark(1, 1)

    def problem(self, loc: Location, message: str, *, at_key: bool = False, offset: int = 0) -> FileProblem:
        mark = self.locate(loc, at_key=at_key)
        return FileProblem(self.path, mark.line, mark.col + offset, message)

    def problem_inside(self, loc: Location, offset: int, message: str) -> FileProblem:
        """A problem at character ``offset`` of the string value at ``loc``, wherever YAML put it."""
        mark = self.locate_inside(loc, offset)
        return FileProblem(self.path, mark.line, mark.col, message)

    def locate_inside(self, loc: Location, offset: int) -> Mark:
        """Where character ``offset`` of the string value at ``loc`` stands in the source.

        YAML folds and re-indents multi-line scalars (``>``, ``|``, plain or quoted lines), but
        changes only their whitespace: the n-th visible character of the value is the n-th visible
        character of the source from the value on, so counting visible characters finds it.
        """
        start = self.locate(loc)
        value = self._value_at(loc)
        if not isinstance(value, str) or not self.source:
            return Mark(start.line, start.col + offset)
        lines = self.source.splitlines()
        if start.line > len(lines):
            return start
        offset = min(max(offset, 0), len(value))
        wanted = sum(1 for char in value[:offset] if not char.isspace())
        past_end = offset >= len(value) or value[offset].isspace()  # an error after the last character
        if past_end and wanted:
            wanted -= 1
        line, col = start.line - 1, start.col - 1
        first = lines[line][col : col + 1]
        if first in (">", "|"):
            line, col = line + 1, 0  # a block scalar starts on the next line
        elif first in ("'", '"'):
            col += 1
        seen = 0
        while line < len(lines):
            text = lines[line]
            while col < len(text):
                if not text[col].isspace():
                    if seen == wanted:
                        return Mark(line + 1, col + 1 + (1 if past_end else 0))
                    seen += 1
                col += 1
            line, col = line + 1, 0
        return start

    def _value_at(self, loc: Location) -> object:
        node: Any = self.data
        for step in loc:
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                return None
        return node


def load_marked(source: str | bytes, path: str) -> MarkedDocument:
    """Parse one YAML document; raise ``ConfigFileError`` on bad text, bad syntax or duplicate keys."""
    if len(source) > MAX_FILE_BYTES:
        message = f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; split it"
        raise ConfigFileError([FileProblem(path, 1, 1, message)])
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigFileError([FileProblem(path, 1, 1, f"not UTF-8 text: {exc.reason}")]) from None
    loader = _Loader(source)
    duplicates: list[FileProblem] = []
    try:
        node = loader.get_single_node()
        if node is None:
            return MarkedDocument(path, None)
        if _plain_tree(node):
            document = MarkedDocument(path, None, source=source, root=node)
        else:
            _check_expanded_size(node, path)
            document = MarkedDocument(path, None, source=source)
            # before construction, which splices merged ('<<') keys into the node
            # and would make an override of a merged key look like a duplicate
            _walk(loader, node, (), document, duplicates)
        document.data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "not a YAML document"
        raise ConfigFileError([FileProblem(path, line, col, f"YAML syntax error: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError([FileProblem(path, 1, 1, f"YAML syntax error: {exc}")]) from None
    finally:
        loader.dispose()
    if duplicates:
        raise ConfigFileError(duplicates)
    return document


def read_marked(path: Path) -> MarkedDocument:
    """``load_marked`` of a file; a file that cannot be read is a problem of its own."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigFileError([FileProblem(str(path), 1, 1, f"cannot read file: {exc}")]) from None
    return load_marked(raw, str(path))


def load_model(path: Path, model: type[M]) -> M:
    """Read ``path`` as YAML and validate it as ``model``, or raise ``ConfigFileError``."""
    doc = read_marked(path)
    if doc.data is None:
        doc.data = {}  # an empty file is an empty mapping: every key takes its default
    return validate(doc, model)


def validate(doc: MarkedDocument, model: type[M]) -> M:
    """``model`` from the document's data, or ``ConfigFileError`` with every problem located."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigFileError(validation_problems(exc, model, doc)) from None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _plain_tree(root: yaml.Node) -> bool:
    """Whether the document is within the size limits and every mapping in it has distinct keys
    that are plain strings: then nothing is wrong with it that ``_check_expanded_size`` and
    ``_walk`` would report, and its positions can be found by key later (``_locate_in``).

    Read level by level, aliases counted as often as they are used, as the size limits count
    them: a document that is too large, too deep or contains itself stops the reading once it has
    counted past the limits, without expanding more, and is left to those checks to say where.
    This costs a few steps per value, where they keep several dictionaries of every node.
    """
    level = [root]
    total = 0
    depth = 0
    while level:
        depth += 1
        total += len(level)
        if depth > MAX_DEPTH or total > MAX_VALUES:
            return False
        below: list[yaml.Node] = []
        for node in level:
            if isinstance(node, yaml.MappingNode):
                pairs = node.value
                keys = {
                    key.value for key, _ in pairs if key.tag == _STR_TAG and isinstance(key, yaml.ScalarNode)
                }
                if len(keys) != len(pairs):
                    return False  # a repeated key, a merge, or a key that is no string
                for pair in pairs:
                    below.extend(pair)
            elif isinstance(node, yaml.SequenceNode):
                below.extend(node.value)
            else:
                continue
            if total + len(below) > MAX_VALUES:
                return False
        level = below
    return True


def _locate_in(root: yaml.Node, loc: Location, *, at_key: bool) -> Mark:
    """``MarkedDocument.locate`` in a plain tree: where the value at ``loc`` (or its key) was
    written, or the nearest ancestor that is there; an item of a list is its own key."""
    node, key_node = root, None
    for step in loc:
        child: tuple[yaml.Node, yaml.Node] | None = None
        if isinstance(node, yaml.MappingNode):
            child = next(((value, key) for key, value in node.value if key.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            child = (node.value[step], node.value[step])
        if child is None:
            break
        node, key_node = child
    return _mark(key_node if at_key and key_node is not None else node)


def _check_expanded_size(root: yaml.Node, path: str) -> None:
    """Refuse a document that, with its aliases expanded, is too large, too deep or infinite.

    Aliases make the parsed document a graph whose nodes are shared; each node's
    expanded size and height are computed once (iteratively: the depth is what
    is being checked), so this costs time in the size of the text, not of the
    expansion. The error points at the smallest value that crosses a limit.
    """
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    open_nodes: set[int] = set()  # the node being expanded and its ancestors
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]

    def fail(node: yaml.Node, message: str) -> ConfigFileError:
        mark = _mark(node)
        return ConfigFileError([FileProblem(path, mark.line, mark.col, message)])

    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            children = _children(node)
            size[key] = 1 + sum(size[id(child)] for child in children)
            height[key] = 1 + max((height[id(child)] for child in children), default=0)
            if size[key] > MAX_VALUES:
                raise fail(
                    node, f"this value stands for more than {MAX_VALUES} values once its aliases are expanded"
                )
            if height[key] > MAX_DEPTH:
                raise fail(node, f"values are nested more than {MAX_DEPTH} levels deep here")
        elif key in open_nodes:
            raise fail(node, "this value contains itself through an alias")
        elif key not in size:
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(_children(node)))


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _walk(
    loader: Any,
    node: yaml.Node,
    loc: Location,
    doc: MarkedDocument,
    errors: list[FileProblem],
    inside: frozenset[int] = frozenset(),
) -> None:
    doc.value_marks[loc] = _mark(node)
    if id(node) in inside:
        return  # an alias to one of its own ancestors: the data is cyclic, its marks are not
    inside = inside | {id(node)}
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, Mark] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue  # a merge is not a key; construction rejects a list or mapping as one
            # keys are compared as constructed, as the dict compares them ('1' and 1 differ)
            key = key_node.value if key_node.tag == _STR_TAG else loader.construct_object(key_node)
            here = _mark(key_node)
            if key in seen:
                # PyYAML silently keeps the last value; an edit that lands on
                # a repeated key would then be ignored without a word.
                message = f"duplicate key '{key_node.value}' (first at line {seen[key].line})"
                errors.append(FileProblem(doc.path, here.line, here.col, message))
                continue
            seen[key] = here
            step = key if isinstance(key, str | int) else str(key_node.value)
            doc.key_marks[(*loc, step)] = here
            _walk(loader, value_node, (*loc, step), doc, errors, inside)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            doc.key_marks[(*loc, index)] = _mark(item)
            _walk(loader, item, (*loc, index), doc, errors, inside)


def validation_problems(
    exc: ValidationError, model: type[BaseModel], doc: MarkedDocument
) -> list[FileProblem]:
    located: list[tuple[Location, str, bool, str]] = []
    misspelt: set[Location] = set()  # required keys that a misspelt key was meant to be
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
    problems: list[FileProblem] = []
    seen: set[tuple[Location, str]] = set()
    for path, message, at_key, kind in located:
        if (path, message) in seen or (kind == "missing" and path in misspelt):
            continue
        seen.add((path, message))
        problems.append(doc.problem(path, message, at_key=at_key))
    if not problems:
        # every error belonged to a union branch the input did not take; never fail without a word
        first = exc.errors(include_url=False)[0]
        problems.append(doc.problem((), str(first["msg"]).removeprefix("Value error, ")))
    return problems


def _locate(detail: Any, data: Any) -> tuple[Location, str, bool] | None:
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
        return tuple(path), f"missing required key '{path[-1]}'" if path else "missing", True
    msg = str(detail["msg"]).removeprefix("Value error, ")
    if kind.endswith("_type") and isinstance(node, dict):
        msg = "expected a single value, not a mapping"
    return tuple(path), f"{dotted}: {msg}", kind == "extra_forbidden"


def _unknown_key(path: Location, model: type[BaseModel]) -> tuple[str, str | None]:
    """The message for an unknown key, and the key it was probably meant to be."""
    key = str(path[-1])
    allowed = _keys_at(model, path[:-1])
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key '{key}', did you mean '{close[0]}'?", close[0]
    if allowed:
        return f"unknown key '{key}' (expected one of: {', '.join(sorted(allowed))})", None
    return f"unknown key '{key}'", None


def _keys_at(model: type[BaseModel], path: Location) -> list[str]:
    target: Any = model
    for elem in path:
        target = _step(target, elem)
        if target is None:
            return []
    target = _as_model(target)
    if target is None:
        return []
    wire = getattr(target, "__wire_fields__", None)
    if wire is not None:  # a model whose written keys differ from its fields (see subscriptions.model)
        return list(wire)
    return [field.alias or name for name, field in target.model_fields.items()]


def _step(annotation: Any, elem: str | int) -> Any:
    model = _as_model(annotation)
    if model is not None:
        field = next(
            (f for n, f in model.model_fields.items() if elem in (n, f.alias)),
            None,
        )
        wire = getattr(model, "__wire_fields__", None)
        if field is None and wire is not None:
            return wire.get(elem)
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
