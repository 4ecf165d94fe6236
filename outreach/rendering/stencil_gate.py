"""Which templates may be stencilled: the constructs whose traced output could be used, not just shown.

While tracing, a slot's mark stands for a per-message value. Holes guard every use of such a value,
but a mark can also travel inside rendered text: what a macro, `caller()`, `super()` or a block
returns, or what `{% set x %}...{% endset %}` and `{% filter %}` capture. If a template then tested or
transformed that text, it would act on the mark instead of the message's value. So a template (with
everything it extends, includes and imports) is stencilled only when:

- every call's result goes straight to the output (`{{ button(...) }}`, `{% call %}`), except calls of
  `track`, which gives a per-message value (a hole), and `track` is never rebound;
- it has no `{% set %}` block, `{% filter %}` block or `{% import ... as ... %}`;
- every template it extends, includes or imports is named by a constant.

This is deliberately stricter than needed; a template that fails it is rendered in full, as before.
"""

from __future__ import annotations

from jinja2 import Environment, nodes

TRACKING_FUNCTION = "track"


def stencil_obstacle(environment: Environment, name: str) -> str | None:
    """Why the template `name` cannot be stencilled (file and line), or None if it can."""
    seen: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        source, filename, _ = environment.loader.get_source(environment, current)  # type: ignore[union-attr]
        tree = environment.parse(source, current, filename)
        obstacle = _obstacle(tree, None, pending)
        if obstacle is not None:
            return f"{current}, {obstacle}"
    return None


def _obstacle(node: nodes.Node, parent: nodes.Node | None, referenced: list[str]) -> str | None:
    """The first construct under `node` that a stencil could get wrong; collects referenced templates."""
    line = f"line {node.lineno}"
    if isinstance(node, nodes.AssignBlock | nodes.FilterBlock | nodes.Import):
        return f"{line}: a {type(node).__name__} captures rendered text"
    if isinstance(node, nodes.Extends | nodes.Include | nodes.FromImport):
        names = _constant_names(node.template)
        if names is None:
            return f"{line}: a template chosen at run time"
        referenced.extend(names)
    if isinstance(node, nodes.Call) and not (
        isinstance(parent, nodes.Output | nodes.CallBlock) or _calls_tracking(node)
    ):
        return f"{line}: the result of a call is used, not only output"
    if _rebinds_tracking(node):
        return f"{line}: {TRACKING_FUNCTION} is rebound"
    for child in node.iter_child_nodes():
        obstacle = _obstacle(child, node, referenced)
        if obstacle is not None:
            return obstacle
    return None


def _constant_names(template: nodes.Expr) -> list[str] | None:
    if isinstance(template, nodes.Const) and isinstance(template.value, str):
        return [template.value]
    if isinstance(template, nodes.List | nodes.Tuple):
        names = [_constant_names(item) for item in template.items]
        if all(found is not None for found in names):
            return [name for found in names if found is not None for name in found]
    return None


def _calls_tracking(call: nodes.Call) -> bool:
    return isinstance(call.node, nodes.Name) and call.node.name == TRACKING_FUNCTION


def _rebinds_tracking(node: nodes.Node) -> bool:
    if isinstance(node, nodes.Name):
        return node.name == TRACKING_FUNCTION and node.ctx != "load"
    if isinstance(node, nodes.Macro):
        return node.name == TRACKING_FUNCTION
    if isinstance(node, nodes.FromImport):
        return any(
            (alias if isinstance(alias, str) else alias[-1]) == TRACKING_FUNCTION for alias in node.names
        )
    return False
