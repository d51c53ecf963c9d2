"""Decode the QR code of an SVG made by segno, for tests: the SVG's path is rasterised with
Pillow and read back with zxing-cpp, an independent decoder."""

import re

import zxingcpp
from PIL import Image, ImageDraw


def _find(pattern: str, text: str) -> str:
    """The first group of ``pattern``'s first match in ``text`` (which must match)."""
    match = re.search(pattern, text)
    assert match is not None, pattern
    return match.group(1)


def decode_svg_qr(svg: str, module_px: int = 8) -> str:
    """Return the text encoded in segno's ``<path d="M.. h.. m..">`` QR SVG."""
    width = int(_find(r'width="(\d+)"', svg))
    scale = float(_find(r"scale\(([\d.]+)\)", svg)) if "scale(" in svg else 1.0
    modules = round(width / scale)
    path = _find(r' d="([^"]+)"', svg)
    image = Image.new("L", (modules * module_px, modules * module_px), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    for command, a, b in re.findall(r"([MmHhVv])(-?[\d.]+)(?:\s+(-?[\d.]+))?", path):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        elif command == "h":  # a horizontal stroke one module high, centred on y
            x2 = x + float(a)
            row = int(y - 0.5)
            draw.rectangle(
                [
                    min(x, x2) * module_px,
                    row * module_px,
                    max(x, x2) * module_px - 1,
                    (row + 1) * module_px - 1,
                ],
                fill=0,
            )
            x = x2
    results = zxingcpp.read_barcodes(image)
    assert results, "no QR code found in the SVG"
    return results[0].text
