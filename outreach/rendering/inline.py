"""CSS inlining of e-mail templates, done once when a template is loaded, never per message.

Mail clients (Gmail, Outlook) drop or ignore <style> blocks, so every style must sit in a `style=""`
attribute. Inlining the rendered message would cost a full HTML parse per recipient; inlining the
template *source* costs it once. The HTML parser must not see Jinja syntax, so each Jinja construct is
swapped for an inert token first and restored afterwards:

- `{% ... %}` and `{# ... #}` become HTML comments, which may sit anywhere, even between table rows
  (text there would be moved out of the table by the parser);
- `{{ ... }}` becomes a word, which is safe in text and in attribute values.

Partials must therefore be whole elements (a bare `<tr>` outside a table would be dropped by the
parser); the lint renders every template, which shows such a mistake at once.
"""

from __future__ import annotations

import re

import css_inline

_JINJA = re.compile(r"\{%.*?%\}|\{#.*?#\}|\{\{.*?\}\}", re.DOTALL)
_STATEMENT_TOKEN = "<!--jinja-{}-->"
_ESCAPED_STATEMENT_TOKEN = "&lt;!--jinja-{}--&gt;"
_EXPRESSION_TOKEN = "JINJAEXPR{}X"


def _protect(source: str) -> tuple[str, list[str]]:
    constructs: list[str] = []

    def swap(match: re.Match[str]) -> str:
        constructs.append(match.group(0))
        index = len(constructs) - 1
        if match.group(0).startswith("{{"):
            return _EXPRESSION_TOKEN.format(index)
        return _STATEMENT_TOKEN.format(index)

    return _JINJA.sub(swap, source), constructs


def _restore(html: str, constructs: list[str]) -> str:
    for index, construct in enumerate(constructs):
        token = (_EXPRESSION_TOKEN if construct.startswith("{{") else _STATEMENT_TOKEN).format(index)
        escaped = _ESCAPED_STATEMENT_TOKEN.format(index)
        if token not in html and escaped not in html:
            raise ValueError(f"the HTML parser dropped the Jinja construct {construct!r}")
        html = html.replace(token, construct).replace(escaped, construct)
    return html


def inline_template_source(source: str, css: str) -> str:
    """`source` (Jinja + HTML) with `css` applied as style attributes; the Jinja code is untouched.

    A full document (a layout) keeps its <style> block for what cannot be inlined (media queries); a
    fragment (a message or a partial) only receives style attributes.
    """
    protected, constructs = _protect(source)
    if "<html" in protected.lower():
        inliner = css_inline.CSSInliner(keep_style_tags=True, extra_css=css, load_remote_stylesheets=False)
        html = inliner.inline(protected)
    else:
        html = css_inline.inline_fragment(protected, css, load_remote_stylesheets=False)
    return _restore(html, constructs)
