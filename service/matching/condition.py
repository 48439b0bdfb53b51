"""The condition expression of a rule, parsed into a small tree.

    condition := or
    or        := and ("or" and)*
    and       := unary ("and" unary)*
    unary     := "not" unary | atom
    atom      := "(" condition ")"
               | NUMBER "of" "(" condition ("," condition)* ")"
               | "sentence" "(" condition ("," condition)* ")"
               | "clause" "(" condition ("," condition)* ")"
               | "near" "(" condition ("," condition)+ "," NUMBER ")"
               | PART_NAME

``sentence(a, b, not c)`` holds when one sentence has a and b and no c;
``clause(...)`` the same within one clause of a sentence (split at ";", ":",
dashes and before words such as "after", "ahead of", "while", "which");
``near(a, b, 5)`` when b is within 5 words of a. Their first argument is
where the search starts, so it must not be negated.

Conditions come from files anyone may edit, so nesting is bounded
(``MAX_DEPTH``): a condition of a thousand parentheses is a located error,
not a stack overflow in the parser or in every later walk of the tree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field


class ConditionError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True)
class Ref:
    name: str
    position: int


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class AtLeast:
    count: int
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Sentence:
    operands: tuple[Node, ...]
    clause: bool = False  # one clause of the sentence, not all of it
    # the operands in the order a window search checks them: parts, other conditions, negations
    search_order: tuple[Node, ...] = field(init=False, compare=False, repr=False)
    # the names of the operands when every one names a part (most windows), else empty: their
    # occurrences in a window are then looked up without a walk of the tree
    part_names: tuple[str, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "search_order", _search_order(self.operands))
        object.__setattr__(self, "part_names", _part_names(self.operands))


@dataclass(frozen=True)
class Near:
    operands: tuple[Node, ...]
    words: int
    search_order: tuple[Node, ...] = field(init=False, compare=False, repr=False)
    part_names: tuple[str, ...] = field(init=False, compare=False, repr=False)  # as for Sentence

    def __post_init__(self) -> None:
        object.__setattr__(self, "search_order", _search_order(self.operands))
        object.__setattr__(self, "part_names", _part_names(self.operands))


Node = Ref | Not | And | Or | AtLeast | Sentence | Near


def _part_names(operands: tuple[Node, ...]) -> tuple[str, ...]:
    names = tuple(node.name for node in operands if isinstance(node, Ref))
    return names if len(names) == len(operands) else ()


def _search_order(operands: tuple[Node, ...]) -> tuple[Node, ...]:
    """Parts are looked up at once, conditions over several parts cost more, negations last."""
    return tuple(
        sorted(operands, key=lambda node: 0 if isinstance(node, Ref) else 2 if isinstance(node, Not) else 1)
    )


_TOKEN = re.compile(r"\s*(?:(?P<number>\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[(),])|(?P<bad>\S))")


@dataclass(frozen=True)
class _Token:
    kind: str  # number, name, keyword, punct, end
    text: str
    position: int


# The one keyword set: the parser reads these as operators, and the schema and
# compiler refuse them as part, route and guard names.
KEYWORDS = frozenset({"and", "or", "not", "of", "sentence", "clause", "near"})
MAX_DEPTH = 24  # nested parentheses, negations and windows


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind is None:
            continue
        value = match.group(kind)
        position = match.start(kind)
        if kind == "bad":
            raise ConditionError(f"unexpected character '{value}'", position)
        if kind == "name" and value.lower() in KEYWORDS:
            tokens.append(_Token("keyword", value.lower(), position))
        else:
            tokens.append(_Token(kind, value, position))
    tokens.append(_Token("end", "", len(text.rstrip())))
    return tokens


def parse_condition(text: str) -> Node:
    parser = _Parser(_tokenize(text))
    node = parser.expression()
    parser.expect("end", "end of condition")
    return node


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def deeper(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(f"condition nested deeper than {MAX_DEPTH} levels", token.position)

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def accept(self, kind: str, text: str | None = None) -> _Token | None:
        token = self.current
        if token.kind == kind and (text is None or token.text == text):
            self.index += 1
            return token
        return None

    def expect(self, kind: str, what: str, text: str | None = None) -> _Token:
        token = self.accept(kind, text)
        if token is None:
            found = self.current.text or "end of condition"
            raise ConditionError(f"expected {what}, found '{found}'", self.current.position)
        return token

    def expression(self) -> Node:
        operands = [self.conjunction()]
        while self.accept("keyword", "or"):
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conjunction(self) -> Node:
        operands = [self.unary()]
        while self.accept("keyword", "and"):
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self) -> Node:
        token = self.current
        if self.accept("keyword", "not"):
            self.deeper(token)
            negated = Not(self.unary())
            self.depth -= 1
            return negated
        self.deeper(token)
        node = self.atom()
        self.depth -= 1
        return node

    def atom(self) -> Node:
        token = self.current
        if self.accept("punct", "("):
            node = self.expression()
            self.expect("punct", "')'", ")")
            return node
        if self.accept("number"):
            count = int(token.text)
            self.expect("keyword", "'of' after a number", "of")
            operands = self.arguments()
            if not 1 <= count <= len(operands):
                raise ConditionError(f"'{count} of' needs between 1 and {len(operands)}", token.position)
            return AtLeast(count, tuple(operands))
        if self.accept("keyword", "sentence") or self.accept("keyword", "clause"):
            operands = self.arguments()
            _check_anchor(operands, token)
            return Sentence(tuple(operands), clause=token.text == "clause")
        if self.accept("keyword", "near"):
            return self.near(token)
        if self.accept("name"):
            return Ref(token.text, token.position)
        found = token.text or "end of condition"
        raise ConditionError(f"expected a part name, 'not' or '(', found '{found}'", token.position)

    def arguments(self) -> list[Node]:
        self.expect("punct", "'('", "(")
        operands = [self.expression()]
        while self.accept("punct", ","):
            operands.append(self.expression())
        self.expect("punct", "')'", ")")
        return operands

    def near(self, keyword: _Token) -> Node:
        self.expect("punct", "'('", "(")
        operands = [self.expression()]
        words: int | None = None
        while self.accept("punct", ","):
            number = self.accept("number")
            if number is not None:
                words = int(number.text)
                break
            operands.append(self.expression())
        self.expect("punct", "')'", ")")
        if words is None or len(operands) < 2:
            raise ConditionError(
                "near() needs two or more conditions and a word count: near(a, b, 5)", keyword.position
            )
        _check_anchor(operands, keyword)
        return Near(tuple(operands), words)


def _check_anchor(operands: list[Node], keyword: _Token) -> None:
    if isinstance(operands[0], Not):
        raise ConditionError(f"the first argument of {keyword.text}() cannot be negated", keyword.position)


def references(node: Node) -> list[Ref]:
    """Every part reference in the tree, in reading order."""
    if isinstance(node, Ref):
        return [node]
    if isinstance(node, Not):
        return references(node.operand)
    return [ref for operand in node.operands for ref in references(operand)]


def unparse(node: Node, names: Mapping[int, str] | None = None) -> str:
    """The condition as it would be written: how explanations name what was missing or vetoed.
    ``names`` maps the identity of each named condition's tree (``substitute`` puts the one tree
    wherever the name stood) to its name, so it is written by name, as in the rule."""
    if names and id(node) in names:
        return names[id(node)]
    if isinstance(node, Ref):
        return node.name
    if isinstance(node, Not):
        inner = unparse(node.operand, names)
        return (
            f"not ({inner})"
            if isinstance(node.operand, (And, Or)) and not (names and id(node.operand) in names)
            else f"not {inner}"
        )
    if isinstance(node, (And, Or)):
        joiner = " and " if isinstance(node, And) else " or "
        return joiner.join(
            f"({unparse(o, names)})"
            if isinstance(o, Or) and isinstance(node, And) and not (names and id(o) in names)
            else unparse(o, names)
            for o in node.operands
        )
    inside = ", ".join(unparse(operand, names) for operand in node.operands)
    if isinstance(node, AtLeast):
        return f"{node.count} of ({inside})"
    if isinstance(node, Sentence):
        return f"{'clause' if node.clause else 'sentence'}({inside})"
    return f"near({inside}, {node.words})"


def substitute(node: Node, named: dict[str, Node]) -> Node:
    """``node`` with every reference to a named condition replaced by that condition's tree, so
    the engine walks one tree and never looks a name up while matching. ``named`` holds trees
    already substituted themselves (``Compiler`` substitutes them in order of use, refusing
    cycles). A named condition that is a negation cannot stand first in ``sentence()``,
    ``clause()`` or ``near()``, as a written ``not`` cannot."""
    if isinstance(node, Ref):
        return named.get(node.name, node)
    if isinstance(node, Not):
        return Not(substitute(node.operand, named))
    operands = tuple(substitute(operand, named) for operand in node.operands)
    if isinstance(node, (Sentence, Near)) and isinstance(operands[0], Not):
        first = node.operands[0]
        position = first.position if isinstance(first, Ref) else 0
        keyword = "near" if isinstance(node, Near) else "clause" if node.clause else "sentence"
        raise ConditionError(f"the first argument of {keyword}() cannot be negated", position)
    if isinstance(node, And):
        return And(operands)
    if isinstance(node, Or):
        return Or(operands)
    if isinstance(node, AtLeast):
        return AtLeast(node.count, operands)
    if isinstance(node, Sentence):
        return Sentence(operands, clause=node.clause)
    return Near(operands, node.words)


def depth(node: Node) -> int:
    """How deeply the tree nests: what ``MAX_DEPTH`` bounds once named conditions are put in."""
    if isinstance(node, Ref):
        return 1
    if isinstance(node, Not):
        return 1 + depth(node.operand)
    return 1 + max(depth(operand) for operand in node.operands)
