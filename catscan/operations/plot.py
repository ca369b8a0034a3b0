"""Small Pillow drawing kit for operations figures: fonts, nice ticks, axes panels, legends.

Pillow draws a labelled figure in milliseconds where matplotlib costs most of a second to
import (design notes §13), and operations figures are simple: points, lines, boxes, text.
Everything returns the pixel boxes it drew, so that tests can sample the colours there.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

Colour = tuple[int, int, int]
Box = tuple[int, int, int, int]          # x0, y0, x1, y1 (inclusive pixels)

WHITE: Colour = (255, 255, 255)
BLACK: Colour = (0, 0, 0)
INK: Colour = (40, 40, 40)
GRID: Colour = (225, 225, 225)
BAND_COLOURS: dict[str, Colour] = {"j": (31, 119, 180), "h": (44, 160, 44), "k": (214, 39, 40)}
STATUS_COLOURS: dict[str, Colour] = {"pass": (44, 160, 44), "warn": (230, 150, 0),
                                     "fail": (214, 39, 40)}


@lru_cache(maxsize=16)
def font(size: int = 14) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's own scalable font (no font files needed), or its bitmap font without
    FreeType."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):         # Pillow < 10.1 or no FreeType
        return ImageFont.load_default()


def text_size(draw: ImageDraw.ImageDraw, text: str, size: int = 14) -> tuple[int, int]:
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font(size))
    return x1 - x0, y1 - y0


def nice_step(span: float, target: int = 5) -> float:
    """A 1, 2 or 5 x 10^n step giving about ``target`` intervals over ``span``."""
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(target, 1)
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * power:
            return multiple * power
    return 10 * power


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values from ``lo`` to ``hi`` (both inside)."""
    step = nice_step(hi - lo, target)
    first = math.ceil(lo / step - 1e-9) * step
    count = int(math.floor((hi - first) / step + 1e-9)) + 1
    return [round(first + i * step, 12) for i in range(max(count, 0))]


def tick_text(value: float, step: float) -> str:
    """A tick value with as many decimals as its step needs (0.25 -> 2, 0.5 -> 1)."""
    decimals = 0
    while decimals < 6 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6:
        decimals += 1
    return f"{value:.{decimals}f}"


def padded_range(values: Sequence[float], extra: Sequence[float] = (),
                 pad: float = 0.08) -> tuple[float, float]:
    """An axis range holding the values (and ``extra`` lines such as limits), padded."""
    data = [v for v in [*values, *extra] if v is not None and math.isfinite(v)]
    if not data:
        return 0.0, 1.0
    lo, hi = min(data), max(data)
    if hi - lo < 1e-12:
        half = abs(lo) * 0.05 or 0.5
        return lo - half, hi + half
    margin = (hi - lo) * pad
    return lo - margin, hi + margin


def dashed_line(draw: ImageDraw.ImageDraw, start: tuple[float, float],
                end: tuple[float, float], colour: Colour, width: int = 1,
                dash: int = 8, gap: int = 5) -> None:
    (x0, y0), (x1, y1) = start, end
    length = math.hypot(x1 - x0, y1 - y0)
    if length == 0:
        return
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    position = 0.0
    while position < length:
        stop = min(position + dash, length)
        draw.line([(x0 + ux * position, y0 + uy * position),
                   (x0 + ux * stop, y0 + uy * stop)], fill=colour, width=width)
        position = stop + gap


@dataclass
class Panel:
    """An x/y plot area at ``box`` (pixels) showing ``x_range`` x ``y_range``."""

    box: Box
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    drawn: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def to_px(self, x: float, y: float) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        (a, b), (c, d) = self.x_range, self.y_range
        return (x0 + (x - a) / (b - a) * (x1 - x0), y1 - (y - c) / (d - c) * (y1 - y0))

    def frame(self, image: Image.Image, *, y_label: str, x_ticks: list[float],
              x_text, show_x_labels: bool, x_label: str = "", size: int = 13) -> None:
        """Grid, frame, ticks and labels. ``x_text(value)`` labels the x ticks."""
        draw = ImageDraw.Draw(image)
        x0, y0, x1, y1 = self.box
        y_ticks = nice_ticks(*self.y_range, target=5)
        step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else 1.0
        for value in x_ticks:
            px, _ = self.to_px(value, self.y_range[0])
            draw.line([(px, y0), (px, y1)], fill=GRID)
        for value in y_ticks:
            _, py = self.to_px(self.x_range[0], value)
            draw.line([(x0, py), (x1, py)], fill=GRID)
            draw.line([(x0 - 5, py), (x0, py)], fill=INK)
            label = tick_text(value, step)
            w, h = text_size(draw, label, size)
            draw.text((x0 - 8 - w, py - h / 2 - 2), label, fill=INK, font=font(size))
        draw.rectangle(self.box, outline=INK)
        for value in x_ticks:
            px, _ = self.to_px(value, self.y_range[0])
            draw.line([(px, y1), (px, y1 + 5)], fill=INK)
            if show_x_labels:
                label = x_text(value)
                w, _ = text_size(draw, label, size)
                draw.text((px - w / 2, y1 + 8), label, fill=INK, font=font(size))
        if show_x_labels and x_label:
            w, _ = text_size(draw, x_label, size)
            draw.text(((x0 + x1) / 2 - w / 2, y1 + 28), x_label, fill=INK, font=font(size))
        self._vertical_label(image, y_label, size)

    def _vertical_label(self, image: Image.Image, text: str, size: int) -> None:
        w, h = text_size(ImageDraw.Draw(image), text, size)
        label = Image.new("RGBA", (w + 4, h + 8), (255, 255, 255, 0))
        ImageDraw.Draw(label).text((2, 0), text, fill=INK + (255,), font=font(size))
        label = label.rotate(90, expand=True)
        x0, y0, _, y1 = self.box
        image.paste(label, (x0 - 62, int((y0 + y1) / 2 - label.height / 2)), label)

    def series(self, draw: ImageDraw.ImageDraw, name: str, xs: Sequence[float],
               ys: Sequence[float | None], colour: Colour, radius: int = 4) -> None:
        """Points joined by lines; a missing value breaks the line."""
        points: list[tuple[int, int]] = []
        previous = None
        for x, y in zip(xs, ys, strict=True):
            if y is None or not math.isfinite(y):
                previous = None
                continue
            px, py = self.to_px(x, y)
            if previous is not None:
                draw.line([previous, (px, py)], fill=colour, width=2)
            previous = (px, py)
            points.append((round(px), round(py)))
        for px, py in points:
            draw.ellipse([px - radius, py - radius, px + radius, py + radius], fill=colour)
        self.drawn[name] = points

    def hline(self, draw: ImageDraw.ImageDraw, y: float, colour: Colour, label: str,
              size: int = 12) -> None:
        x0, _, x1, _ = self.box
        _, py = self.to_px(self.x_range[0], y)
        dashed_line(draw, (x0, py), (x1, py), colour, width=2)
        w, h = text_size(draw, label, size)
        draw.text((x1 - w - 4, py - h - 5), label, fill=colour, font=font(size))


def legend(draw: ImageDraw.ImageDraw, origin: tuple[int, int],
           items: Sequence[tuple[str, Colour]], *, size: int = 13, swatch: int = 14,
           spacing: int = 18, vertical: bool = False) -> dict[str, Box]:
    """Colour swatches with labels, in a row (or a column); returns each swatch's box."""
    x, y = origin
    boxes: dict[str, Box] = {}
    for label, colour in items:
        box = (x, y, x + swatch, y + swatch)
        draw.rectangle(box, fill=colour, outline=INK)
        boxes[label] = box
        w, h = text_size(draw, label, size)
        draw.text((x + swatch + 6, y + swatch / 2 - h / 2 - 2), label, fill=INK,
                  font=font(size))
        if vertical:
            y += swatch + 8
        else:
            x += swatch + 6 + w + spacing
    return boxes


def png_bytes(image: Image.Image) -> bytes:
    """The image as PNG (Pillow's defaults: every PNG of catscan's plots and maps)."""
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def save_png(image: Image.Image, path: str | Path) -> Path:
    """Write the PNG whole or not at all (a .part file renamed into place)."""
    return save_file(png_bytes(image), path)


def save_file(data: bytes, path: str | Path) -> Path:
    """Write ``data`` whole or not at all (a .part file renamed into place)."""
    from ..results import ResultError

    path = Path(path)
    part = path.with_name(path.name + ".part")
    try:
        part.write_bytes(data)
        part.replace(path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise ResultError(f"{path}: cannot write it: {exc.strerror or exc}") from None
    return path
