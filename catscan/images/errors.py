"""The one error of the image services: shown as a message (exit code 1) by the CLI."""

from __future__ import annotations

from ..errors import CatscanError


class ImageError(CatscanError):
    """A cutout or picture that cannot be made: no image at the position, a size above the
    limit, unknown bands, an unreadable list of objects..."""
