"""PSC positions to circle on a picture: a CatScan condition as the user typed it, run as
a cone query around the picture's centre (catscan composite --overlay, the web pages)."""

from __future__ import annotations

from ..errors import CatscanError

OVERLAY_QUERY = ("select ra, dec from psc within {radius:.3f}arcsec of {ra:.7f} {dec:+.7f} "
                 "where ")


def overlay_positions(con, ra: float, dec: float, radius_arcsec: float, condition: str
                      ) -> tuple[list[float], list[float]]:
    """PSC positions for the overlay: the CatScan query ``select ra, dec from psc within R
    of RA DEC where CONDITION``. A language error points into ``condition`` as typed."""
    from ..language import QueryError
    from ..runner import run_text

    prefix = OVERLAY_QUERY.format(radius=radius_arcsec, ra=ra, dec=dec)
    try:
        result = run_text(con, prefix + condition, limit=100_000)
    except QueryError as exc:
        column = exc.column - len(prefix) if exc.line == 1 else exc.column
        if exc.line == 1 and column < 1:
            raise CatscanError(f"--overlay: {exc.reason}") from None
        located = QueryError(exc.reason, text=condition, line=exc.line, column=column,
                             hint=exc.hint)
        raise CatscanError(f"--overlay: {located}") from None
    table = result.table
    return table.column("ra").to_pylist(), table.column("dec").to_pylist()
