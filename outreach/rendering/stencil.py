"""Stencils: a template rendered once with holes, then filled for each message that fits it.

Most of an e-mail is the same for every recipient of a campaign (layout, paragraphs, footer), and a
full Jinja render re-creates all of it per person (~0.3 ms). A stencil keeps the rendered text between
the per-message values, the expressions that give those values, and the decisions the render took on
them (`holes.py`); filling it for a message checks that the message's values lead to the same
decisions, then joins text and values (~0.02 ms).

A `StencilSet` learns its stencils from messages that were rendered in full: when no stencil fits a
message, the message is rendered in full as before, then traced into a new stencil, which is kept only
if filling it for that very message gives exactly the full render's text. A template that does
something a stencil cannot replay (`stencil_gate.py`, `holes.py`) is always rendered in full. Errors
are never produced by a stencil: a message it cannot fill for any reason is rendered in full, and that
render raises what it raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, KeysView, Mapping
from operator import itemgetter
from typing import Any

from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import escape

from outreach.rendering.form import Form
from outreach.rendering.holes import Expression, Ref, Step, Tracer, Values

Parts = dict[str, str]
"""The raw outputs of one render, by name (e.g. "text", "subject", "preheader")."""
Forms = dict[str, Form]
"""The same outputs filled from a stencil, each as its texts and values."""
PartsRender = Callable[[Template, Mapping[str, Any]], Parts]
"""Renders a template's parts for a namespace: the same function renders in full and traces."""
MAX_STENCILS = 8
"""Stencils kept per template: one per combination of decisions met (pixel or not, date past or not)."""


class Program:
    """A stencil's expressions in the order they are computed, each decision checked as soon as it is.

    Decisions come in the order the traced render took them, each after the expressions it needs, so a
    message leaves at its first different decision, having computed no more than the full render would
    have by then. The outputs' expressions come last.
    """

    def __init__(
        self,
        guards: Iterable[tuple[Expression, bool]],
        outputs: Iterable[Expression],
        sandbox: SandboxedEnvironment,
    ) -> None:
        self._sandbox = sandbox
        self._positions: dict[Expression, int] = {}
        self._steps: list[tuple[Step, bool | None]] = []
        for expression, outcome in guards:
            self._place(expression, outcome)
        for expression in outputs:
            self._place(expression, None)

    def position(self, expression: Expression) -> int:
        return self._positions[expression]

    def _ref(self, operand: Any) -> Ref:
        if isinstance(operand, Expression):
            return itemgetter(self._positions[operand])
        return lambda values: operand

    def _place(self, expression: Expression, outcome: bool | None) -> None:
        position = self._positions.get(expression)
        if position is not None:
            if outcome is not None and self._steps[position][1] is not outcome:
                self._steps.append((itemgetter(position), outcome))  # now a decision: check it here
            return
        for operand in expression.operands():
            if isinstance(operand, Expression):
                self._place(operand, None)
        self._positions[expression] = len(self._steps)
        self._steps.append((expression.step(self._ref, self._sandbox), outcome))

    def run(self, namespace: Mapping[str, Any]) -> Values | None:
        """The values for `namespace`, or None at its first decision that differs from the trace's."""
        values: Values = []
        append = values.append
        for step, outcome in self._steps:
            value = step(namespace, values)
            if outcome is not None and value is not outcome:
                return None
            append(value)
        return values


class _Part:
    """One output: constant texts around slots, each slot a value's position and whether it is escaped."""

    __slots__ = ("slots", "texts")

    def __init__(self, texts: tuple[str, ...], slots: tuple[tuple[int, bool], ...]) -> None:
        self.texts, self.slots = texts, slots

    def fill(self, values: Values) -> Form:
        """The output for one message's values, converted as Jinja outputs them (as plain `str`)."""
        filled = [_escaped(values[at]) if escaped else str(values[at]) for at, escaped in self.slots]
        return Form(self.texts, tuple(filled))


def _escaped(value: Any) -> str:
    """`str(markupsafe.escape(value))`; a plain string is escaped as markupsafe's own pure-Python
    version does it, without building a `Markup` per value (a tenth of a message's filling time)."""
    if type(value) is str:
        return (
            value.replace("&", "&amp;")
            .replace(">", "&gt;")
            .replace("<", "&lt;")
            .replace("'", "&#39;")
            .replace('"', "&#34;")
        )
    return str(escape(value))


class Stencil:
    """A traced render: the namespace keys it was made for, its program, and its parts."""

    def __init__(self, keys: Iterable[str], program: Program, parts: Mapping[str, _Part]) -> None:
        self.keys = frozenset(keys)
        self.program = program
        self.parts = dict(parts)

    def fill(self, namespace: Mapping[str, Any]) -> Forms | None:
        """The parts for `namespace`, or None if it does not fit (rendering it in full will tell why)."""
        if namespace.keys() != self.keys:
            return None
        try:
            values = self.program.run(namespace)
            if values is None:
                return None
            return {name: part.fill(values) for name, part in self.parts.items()}
        except Exception:  # a failing value: the full render raises it, in its own words
            return None


def _traced_stencil(
    tracer: Tracer, keys: KeysView[str], marked: Parts, sandbox: SandboxedEnvironment
) -> Stencil:
    """Cut each traced output at its slot marks, and compile what computes the slots' values."""
    token = re.compile(f"\x00{tracer.nonce}([er])([0-9]+)\x00")
    program = Program(tracer.guards, tracer.slots, sandbox)
    parts = {}
    for name, text in marked.items():
        pieces = token.split(text)
        texts = tuple(pieces[0::3])
        if any(tracer.nonce in piece for piece in texts):
            raise ValueError("a slot mark was altered")  # cannot happen past the gate; never trust it
        slots = tuple(
            (program.position(tracer.slots[int(index)]), kind == "e")
            for kind, index in zip(pieces[1::3], pieces[2::3], strict=True)
        )
        parts[name] = _Part(texts, slots)
    return Stencil(keys, program, parts)


class StencilSet:
    """The stencils of one template file, learnt from full renders (see the module docstring)."""

    def __init__(
        self,
        render: PartsRender,
        traced: Callable[[], Template],
        sandbox: SandboxedEnvironment,
        obstacle: str | None,
    ) -> None:
        self._render = render
        self._traced = traced
        self._sandbox = sandbox
        self._stencils: list[Stencil] = []
        self.obstacle = obstacle
        """Why this template is always rendered in full, or None."""

    def fill(self, namespace: Mapping[str, Any]) -> Forms | None:
        """The parts for `namespace` from the first stencil it fits, or None."""
        for stencil in self._stencils:
            parts = stencil.fill(namespace)
            if parts is not None:
                return parts
        return None

    def learn(self, namespace: Mapping[str, Any], rendered: Parts) -> None:
        """Trace a new stencil with `namespace`, whose full render gave `rendered` (if room is left)."""
        if self.obstacle is not None or len(self._stencils) >= MAX_STENCILS:
            return
        tracer = Tracer(self._sandbox)
        try:
            marked = self._render(self._traced(), tracer.holes(namespace))
            stencil = _traced_stencil(tracer, namespace.keys(), marked, self._sandbox)
        except Exception as exc:  # NotStencilable, or any failure where the full render succeeded
            self.obstacle = f"{type(exc).__name__}: {exc}"
            return
        filled = stencil.fill(namespace)
        if filled is None or {name: form.text() for name, form in filled.items()} != rendered:
            self.obstacle = "its stencil does not give the full render's text"
            return
        self._stencils.append(stencil)
