"""QR codes drawn as vector rectangles straight onto a ReportLab canvas.

No image is made: the module matrix is drawn as one filled path, with runs of dark modules merged
into single rectangles, so the code stays sharp at any printer resolution. The path is written as raw
PDF operators in module units under one scaling matrix (`Canvas.addLiteral`): ReportLab's per-rectangle
number formatting would cost ten times the QR encoding itself. The mask pattern is fixed instead of
searched: every mask decodes, and the search is 80% of the encoding cost.
"""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfgen.canvas import Canvas

QUIET_ZONE = 4
"""Modules of white margin the standard requires around the code."""


def qr_matrix(data: str) -> list[list[bool]]:
    """The dark/light modules of a QR code for `data` (error correction M, no quiet zone)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=0)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """Draw the QR code of `data` with its bottom-left corner (quiet zone included) at (x, y)."""
    matrix = qr_matrix(data)
    module = size / (len(matrix) + 2 * QUIET_ZONE)
    top = y + size - QUIET_ZONE * module
    left = x + QUIET_ZONE * module
    rectangles: list[str] = []
    for row_index, row in enumerate(matrix):
        start = None
        for column, dark in enumerate((*row, False)):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                rectangles.append(f"{start} {row_index} {column - start} 1 re")
                start = None
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    # y grows downwards in module units: row r spans [r, r + 1] below the top edge.
    canvas.addLiteral(f"{fp_str(module)} 0 0 {fp_str(-module)} {fp_str(left)} {fp_str(top)} cm")
    canvas.addLiteral("\n".join(rectangles) + " f")
    canvas.restoreState()
