"""Holes: per-message values as a template sees them while it is traced into a stencil (`stencil.py`).

A template is traced by rendering it once with a `Hole` in place of each value of the message's
context. A hole lets the template do only what can be replayed exactly for another message:

- be output (`{{ person.addressee }}`): the output gets a slot, filled per message;
- be read further (`person.addressee`, `links["pixel"]`), called (`track(url)`) or passed through a
  replayable filter (`|date_fr`): the result is a hole too, remembered as an `Expression`;
- decide (`{% if links.pixel %}`, `a >= today`, `x is none`): the outcome is recorded as a guard, and
  the stencil serves only messages whose expressions give the same outcomes.

Anything else (iterating, arithmetic, turning it into text inside an expression, other filters) raises
`NotStencilable` or a TypeError, and the template is then always rendered in full. Reads and calls go
through the sandbox's own `getattr`, `getitem` and `is_safe_callable`, when tracing and again for each
message, so a stencil can reach nothing a full render could not.
"""

from __future__ import annotations

import operator
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jinja2.runtime import Context, Undefined
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import _PassArg

JINJA_CALL_ARGUMENTS = ("_loop_vars", "_block_vars")
"""Keyword arguments Jinja adds to calls made in loops and blocks (for context functions only)."""


class NotStencilable(Exception):
    """The template does something with a per-message value that a stencil cannot replay.

    Deliberately not an AttributeError, LookupError or TypeError: Jinja and the sandbox catch those
    to produce undefined values, which would hide the refusal.
    """


def passes_jinja_argument(function: Any) -> bool:
    """Whether Jinja would call `function` with its context or environment first (not replayable)."""
    call = getattr(function, "__call__", None)  # noqa: B004 - the same check as Jinja's Context.call
    return _PassArg.from_obj(function) is not None or _PassArg.from_obj(call) is not None


Values = list[Any]
"""The values of a stencil's expressions for one message, by position (see `stencil.Program`)."""
Ref = Callable[[Values], Any]
"""Fetches an operand for one message: the value of an expression computed before it, or a constant."""
Step = Callable[[Mapping[str, Any], Values], Any]
"""Computes one expression for one message, from its namespace and the values computed before it."""


class Expression:
    """How to compute a per-message value from the message's namespace (compared by identity).

    Each operation is the one a full render performs (the sandbox's `getattr`, the filter, the call),
    so a message's value goes through exactly what a full render would do with it, undefined included.
    """

    __slots__ = ()

    def operands(self) -> tuple[Any, ...]:
        """The fields that may be expressions, computed before this one."""
        raise NotImplementedError

    def step(self, ref: Callable[[Any], Ref], sandbox: SandboxedEnvironment) -> Step:
        """This expression as a function of the namespace and the values computed before it."""
        raise NotImplementedError


class Name(Expression):
    """A top-level name of the context (`person`, `links`, `track`)."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def operands(self) -> tuple[Any, ...]:
        return ()

    def step(self, ref: Callable[[Any], Ref], sandbox: SandboxedEnvironment) -> Step:
        key = self.key
        return lambda namespace, values: namespace[key]


class Attribute(Expression):
    """`base.name`, read as the sandbox reads it."""

    __slots__ = ("base", "name")

    def __init__(self, base: Expression, name: str) -> None:
        self.base, self.name = base, name

    def operands(self) -> tuple[Any, ...]:
        return (self.base,)

    def step(self, ref: Callable[[Any], Ref], sandbox: SandboxedEnvironment) -> Step:
        base, name, read = ref(self.base), self.name, sandbox.getattr
        return lambda namespace, values: read(base(values), name)


class Item(Expression):
    """`base[key]`, read as the sandbox reads it (either side may be per-message)."""

    __slots__ = ("base", "key")

    def __init__(self, base: Any, key: Any) -> None:
        self.base, self.key = base, key

    def operands(self) -> tuple[Any, ...]:
        return (self.base, self.key)

    def step(self, ref: Callable[[Any], Ref], sandbox: SandboxedEnvironment) -> Step:
        base, key, read = ref(self.base), ref(self.key), sandbox.getitem
        return lambda namespace, values: read(base(values), key(values))


class Applied(Expression):
    """A function applied to operands: a filter or test (a constant), or a per-message function.

    A per-message function is called only past its `Replayable` decision, recorded when it was traced.
    """

    __slots__ = ("args", "function", "kwargs")

    def __init__(self, function: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.function, self.args, self.kwargs = function, args, kwargs

    def operands(self) -> tuple[Any, ...]:
        return (self.function, *self.args, *self.kwargs.values())

    def step(self, ref: Callable[[Any], Ref], sandbox: SandboxedEnvironment) -> Step:
        function = ref(self.function)
        if not self.kwargs and not any(isinstance(arg, Expression) for arg in self.args):
            constants = self.args  # `track(fund.national_site)`: the common case, made cheap
            return lambda namespace, values: function(values)(*constants)
        args = [ref(arg) for arg in self.args]
        kwargs = {key: ref(arg) for key, arg in self.kwargs.items()}

        def apply(namespace: Mapping[str, Any], values: Values) -> Any:
            return function(values)(
                *[arg(values) for arg in args], **{k: arg(values) for k, arg in kwargs.items()}
            )

        return apply


class Replayable(Expression):
    """Whether a per-message function may be called as the trace called it: the sandbox allows it,
    and Jinja would not pass it its context (a call a stencil cannot make)."""

    __slots__ = ("function",)

    def __init__(self, function: Expression) -> None:
        self.function = function

    def operands(self) -> tuple[Any, ...]:
        return (self.function,)

    def step(self, ref: Callable[[Any], Ref], sandbox: SandboxedEnvironment) -> Step:
        function, safe = ref(self.function), sandbox.is_safe_callable

        def replayable(namespace: Mapping[str, Any], values: Values) -> bool:
            called = function(values)
            return safe(called) and not passes_jinja_argument(called)

        return replayable


class _Test(Expression):
    """A yes/no question about one per-message operand; subclasses say which (`test`)."""

    __slots__ = ("operand",)

    def __init__(self, operand: Expression) -> None:
        self.operand = operand

    @staticmethod
    def test(value: Any) -> bool:
        raise NotImplementedError

    def operands(self) -> tuple[Any, ...]:
        return (self.operand,)

    def step(self, ref: Callable[[Any], Ref], sandbox: SandboxedEnvironment) -> Step:
        operand, test = ref(self.operand), self.test
        return lambda namespace, values: test(operand(values))


class Truth(_Test):
    """`bool(operand)`: what `{% if %}`, `and`, `or` and `not` decide on."""

    __slots__ = ()
    test = staticmethod(bool)


class Comparison(Expression):
    """`left <op> right`, `left` per-message and `right` per-message or constant."""

    __slots__ = ("compare", "left", "right")

    def __init__(self, compare: Callable[[Any, Any], Any], left: Expression, right: Any) -> None:
        self.compare, self.left, self.right = compare, left, right

    def operands(self) -> tuple[Any, ...]:
        return (self.left, self.right)

    def step(self, ref: Callable[[Any], Ref], sandbox: SandboxedEnvironment) -> Step:
        compare, left, right = self.compare, ref(self.left), ref(self.right)
        return lambda namespace, values: compare(left(values), right(values))


class IsUndefined(_Test):
    """Whether a read gives an undefined value (a missing key is a decision of its own)."""

    __slots__ = ()

    @staticmethod
    def test(value: Any) -> bool:
        return isinstance(value, Undefined)


class Mark:
    """What a slot outputs while tracing: a token, escaped or not according to where it lands."""

    __slots__ = ("index", "nonce")

    def __init__(self, nonce: str, index: int) -> None:
        self.nonce, self.index = nonce, index

    def __str__(self) -> str:
        return f"\x00{self.nonce}r{self.index}\x00"

    def __html__(self) -> str:
        return f"\x00{self.nonce}e{self.index}\x00"


_KEYED_BY_VALUE = (str, int, float, bool, type(None))


def _key(field: Any) -> Any:
    """What tells fields apart: the value of a plain constant (and its type: 1 is not True), else identity.

    Expressions are interned, so their identity is their structure; other objects (functions, lists)
    are told apart by identity, which at worst computes an expression twice.
    """
    if type(field) in _KEYED_BY_VALUE:
        return (type(field), field)
    if type(field) is tuple:
        return (tuple, *map(_key, field))
    if type(field) is dict:
        return (dict, *((name, _key(value)) for name, value in field.items()))
    return id(field)


def _operand(value: Any) -> Any:
    return value.expression if type(value) is Hole else value


def _real(value: Any) -> Any:
    return value.value if type(value) is Hole else value


class Tracer:
    """Records, during one render, the slots of the output and the decisions taken on holes."""

    def __init__(self, sandbox: SandboxedEnvironment) -> None:
        self.sandbox = sandbox
        """The plain sandbox: values are read exactly as a full render reads them."""
        self.nonce = secrets.token_hex(8)
        self.slots: list[Expression] = []
        self.guards: list[tuple[Expression, bool]] = []
        self._interned: dict[tuple[Any, ...], Expression] = {}

    def _expression(self, kind: type[Expression], *fields: Any) -> Expression:
        """The expression `kind(*fields)`, one object per distinct expression: computed once per message."""
        key = (kind, *map(_key, fields))
        expression = self._interned.get(key)
        if expression is None:
            expression = self._interned[key] = kind(*fields)
        return expression

    def holes(self, namespace: Mapping[str, Any]) -> dict[str, Hole]:
        """A hole for each value of `namespace` (globals such as `fund` stay constants)."""
        return {key: Hole(self, self._expression(Name, key), value) for key, value in namespace.items()}

    def decide(self, expression: Expression, outcome: Any) -> bool:
        if type(outcome) is not bool:
            raise NotStencilable("a decision on a per-message value that is not True or False")
        self.guards.append((expression, outcome))
        return outcome

    def _hole(self, expression: Expression, value: Any) -> Any:
        """A hole for a value read from holes; an undefined one is a decision, not a hole."""
        if isinstance(value, Undefined):
            self.decide(self._expression(IsUndefined, expression), True)
            return value
        return Hole(self, expression, value)

    def attribute(self, hole: Hole, name: str) -> Any:
        expression = self._expression(Attribute, hole.expression, name)
        return self._hole(expression, self.sandbox.getattr(hole.value, name))

    def item(self, base: Any, key: Any) -> Any:
        expression = self._expression(Item, _operand(base), _operand(key))
        return self._hole(expression, self.sandbox.getitem(_real(base), _real(key)))

    def call(self, context: Context, hole: Hole, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Hole:
        if passes_jinja_argument(hole.value):
            raise NotStencilable("a per-message function that wants Jinja's context")
        kwargs = {key: value for key, value in kwargs.items() if key not in JINJA_CALL_ARGUMENTS}
        value = self.sandbox.call(
            context, hole.value, *map(_real, args), **{key: _real(arg) for key, arg in kwargs.items()}
        )
        self.decide(self._expression(Replayable, hole.expression), True)  # the sandbox allowed it
        return self._defined(self._expression(Applied, hole.expression, *_operands(args, kwargs)), value)

    def filtered(self, function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Hole:
        value = function(*map(_real, args), **{key: _real(arg) for key, arg in kwargs.items()})
        return self._defined(self._expression(Applied, function, *_operands(args, kwargs)), value)

    def tested(self, function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        outcome = function(*map(_real, args), **{key: _real(arg) for key, arg in kwargs.items()})
        return self.decide(self._expression(Applied, function, *_operands(args, kwargs)), outcome)

    def compare(self, compare: Callable[[Any, Any], Any], hole: Hole, other: Any) -> bool:
        return self.decide(
            self._expression(Comparison, compare, hole.expression, _operand(other)),
            compare(hole.value, _real(other)),
        )

    def _defined(self, expression: Expression, value: Any) -> Hole:
        if isinstance(value, Undefined):
            raise NotStencilable("a per-message function or filter gave an undefined value")
        return Hole(self, expression, value)

    def slot(self, hole: Hole) -> Mark:
        """An output of `hole`: remembered, and marked in the traced output."""
        self.slots.append(hole.expression)
        return Mark(self.nonce, len(self.slots) - 1)


def _operands(args: Iterable[Any], kwargs: Mapping[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return tuple(map(_operand, args)), {key: _operand(value) for key, value in kwargs.items()}


def first_hole(args: Iterable[Any], kwargs: Mapping[str, Any]) -> Hole | None:
    """The first hole among call arguments, if any (filters and tests are traced only then)."""
    for value in (*args, *kwargs.values()):
        if type(value) is Hole:
            return value
    return None


class Hole:
    """A per-message value during tracing; see the module docstring for what it allows."""

    __slots__ = ("expression", "tracer", "value")

    def __init__(self, tracer: Tracer, expression: Expression, value: Any) -> None:
        self.tracer, self.expression, self.value = tracer, expression, value

    def __bool__(self) -> bool:
        tracer = self.tracer
        return tracer.decide(tracer._expression(Truth, self.expression), bool(self.value))

    def __eq__(self, other: object) -> bool:  # type: ignore[override]
        return self.tracer.compare(operator.eq, self, other)

    def __ne__(self, other: object) -> bool:  # type: ignore[override]
        return self.tracer.compare(operator.ne, self, other)

    def __lt__(self, other: object) -> bool:
        return self.tracer.compare(operator.lt, self, other)

    def __le__(self, other: object) -> bool:
        return self.tracer.compare(operator.le, self, other)

    def __gt__(self, other: object) -> bool:
        return self.tracer.compare(operator.gt, self, other)

    def __ge__(self, other: object) -> bool:
        return self.tracer.compare(operator.ge, self, other)

    __hash__ = None  # type: ignore[assignment]  # a dict or set lookup cannot be replayed

    def __str__(self) -> str:
        raise NotStencilable("a per-message value turned into text inside an expression")

    def __repr__(self) -> str:
        raise NotStencilable("a per-message value turned into text inside an expression")

    def __format__(self, spec: str) -> str:
        raise NotStencilable("a per-message value formatted inside an expression")
