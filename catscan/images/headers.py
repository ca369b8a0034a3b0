"""FITS headers as card text: what a cutout changes in its image's header (NAXISn, CRPIXn,
the WCS of a mosaic, catscan's provenance cards) is a handful of 80-character cards, and
editing them as text costs microseconds where astropy's Header methods cost milliseconds
per cutout. astropy makes each card's text (``fits.Card``), so values are formatted as
astropy would."""

from __future__ import annotations

from astropy.io import fits

CARD = 80


class Cards:
    """A header as a list of 80-character cards (no END card)."""

    def __init__(self, cards: list[str]) -> None:
        self.cards = list(cards)

    @classmethod
    def of(cls, header: fits.Header) -> Cards:
        text = header.tostring(padding=False, endcard=False)
        return cls([text[i:i + CARD] for i in range(0, len(text), CARD)])

    def copy(self) -> Cards:
        return Cards(self.cards)

    def _index(self, key: str) -> int | None:
        name = key.upper().ljust(8)[:8]
        for i, card in enumerate(self.cards):
            if card[:8] == name and (card[8:10] == "= " or len(key) > 8):
                return i
        return None

    def get(self, key: str):
        """A card's value, or None."""
        i = self._index(key)
        return None if i is None else fits.Card.fromstring(self.cards[i]).value

    def set(self, key: str, value, comment: str | None = None, after: str | None = None
            ) -> None:
        """Replace the card (keeping its comment unless one is given), or add it after the
        card ``after`` (else at the end)."""
        i = self._index(key)
        if comment is None:
            comment = fits.Card.fromstring(self.cards[i]).comment if i is not None else ""
        image = fits.Card(key, value, comment).image
        if len(image) != CARD:
            raise ValueError(f"{key} = {value!r} does not fit one card")
        if i is not None:
            self.cards[i] = image
            return
        j = self._index(after) if after else None
        self.cards.insert(len(self.cards) if j is None else j + 1, image)

    def remove(self, *keys: str) -> None:
        names = {k.upper().ljust(8)[:8] for k in keys}
        self.cards = [c for c in self.cards if not (c[:8] in names and c[8:10] == "= ")]

    def text(self) -> str:
        """The header block: cards, END, blank padding to 2880 bytes."""
        body = "".join(self.cards) + "END".ljust(CARD)
        return body + " " * (-len(body) % 2880)

    def header(self) -> fits.Header:
        return fits.Header.fromstring(self.text())
