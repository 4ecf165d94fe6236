"""`Form`: a rendered text as its template's constant texts around its per-message values.

Messages filled from the same stencil (`stencil.py`) have equal `texts` (made of the very same string
objects, so comparing them is cheap). A channel that sends one shared body with per-recipient
substitutions (SendGrid) can then send those texts once per request and only the values per
recipient, instead of working out by comparison which part of each body differs.
"""

from __future__ import annotations

from typing import NamedTuple


class Form(NamedTuple):
    """`texts[0] + values[0] + texts[1] + ... + texts[-1]`; there is one more text than values.

    A named tuple: immutable like a frozen dataclass, and several times cheaper to make (one per part
    of every message).
    """

    texts: tuple[str, ...]
    values: tuple[str, ...]

    def text(self) -> str:
        """The whole text."""
        pieces = [""] * (2 * len(self.texts) - 1)
        pieces[0::2] = self.texts
        pieces[1::2] = self.values
        return "".join(pieces)

    def stripped(self) -> Form | None:
        """The form of `text().strip() + "\n"` (a plain-text e-mail part), or None if it has none.

        Stripping eats the blanks at each end: within the end text if it holds more than blanks, else
        into the value next to it, which must then hold more than blanks (otherwise there is no form).
        """
        texts, values = list(self.texts), list(self.values)
        if not values:
            return Form((texts[0].strip() + "\n",), ())
        if texts[0].strip():
            texts[0] = texts[0].lstrip()
        elif values[0].strip():
            texts[0], values[0] = "", values[0].lstrip()
        else:
            return None
        if texts[-1].strip():
            texts[-1] = texts[-1].rstrip() + "\n"
        elif values[-1].strip():
            texts[-1], values[-1] = "\n", values[-1].rstrip()
        else:
            return None
        return Form(tuple(texts), tuple(values))
