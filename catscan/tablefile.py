"""Table files in and out: CSV, IPAC, VOTable and FITS through astropy, chosen by extension.

Reading finds the position columns the way VO tools do: a column whose UCD says it is the
main RA (``pos.eq.ra;meta.main`` or the UCD1 ``POS_EQ_RA_MAIN``), else a column with a usual
name (``ra``, ``RAJ2000``, ``ra_deg``, ...; ``glon``/``l`` for Galactic lists). Columns in
hours or radians, and sexagesimal text such as ``00:42:44.3``, become ICRS degrees. Writing
keeps nulls (masked values), units and descriptions (FITS: TNULLn that no value uses,
TCOMMn).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from .errors import CatscanError

if TYPE_CHECKING:       # astropy is imported where a table file is read or written (~1 s)
    from astropy.io import fits
    from astropy.table import Table

FORMATS = {".csv": "ascii.csv", ".tbl": "ascii.ipac", ".ipac": "ascii.ipac",
           ".xml": "votable", ".vot": "votable", ".votable": "votable", ".fits": "fits",
           ".fit": "fits", ".ecsv": "ascii.ecsv", ".txt": "ascii", ".dat": "ascii"}
POSITION_UCDS = {"icrs": (("pos.eq.ra;meta.main", "pos_eq_ra_main", "pos.eq.ra"),
                          ("pos.eq.dec;meta.main", "pos_eq_dec_main", "pos.eq.dec")),
                 "galactic": (("pos.galactic.lon",), ("pos.galactic.lat",))}
POSITION_NAMES = {"icrs": (("ra", "raj2000", "_raj2000", "ra_deg", "radeg", "ra_icrs", "alpha",
                            "ra2000", "ra_j2000", "right_ascension", "clon"),
                           ("dec", "dej2000", "decj2000", "_dej2000", "dec_deg", "decdeg",
                            "de", "dec_icrs", "delta", "dec2000", "dec_j2000", "declination",
                            "clat")),
                  "galactic": (("glon", "l", "gal_l", "lii"), ("glat", "b", "gal_b", "bii"))}
ICRS_RA, ICRS_DEC = "ra_icrs", "dec_icrs"


class TableFileError(CatscanError):
    """A table file that cannot be read or written."""


@dataclass(frozen=True)
class Targets:
    """A list of positions: the table (all its columns) and the names of its ICRS degree
    columns (added as ``ra_icrs``/``dec_icrs`` when the file's were not already that)."""

    table: pa.Table
    ra: str
    dec: str
    path: Path


def table_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if not suffixes or suffixes[-1] not in FORMATS:
        raise TableFileError(f"{path}: unknown table format; use one of "
                             f"{', '.join(sorted(FORMATS))}")
    return FORMATS[suffixes[-1]]


def read_table(path: str | Path) -> Table:
    path = Path(path)
    if not path.exists():
        raise TableFileError(f"{path}: no such file")
    fmt = table_format(path)
    from astropy.table import Table

    try:
        # ``#`` lines in CSV are comments (catscan writes its results' provenance so)
        table = Table.read(path, format=fmt, **({"comment": "#"} if fmt == "ascii.csv" else {}))
    except Exception as exc:                      # astropy raises many kinds; say which file
        raise TableFileError(f"{path}: cannot read it as {fmt}: {exc}") from None
    return _descriptions_from_tcomm(table) if fmt == "fits" else table


def find_column(table: Table, frame: str, axis: int, given: str | None, path: Path) -> str:
    """The name of the longitude (axis 0) or latitude (axis 1) column."""
    what = ("RA", "Dec") if frame == "icrs" else ("Galactic longitude", "Galactic latitude")
    if given is not None:
        if given not in table.colnames:
            raise TableFileError(f"{path}: no column {given!r} (columns: "
                                 f"{', '.join(table.colnames)})")
        return given
    for ucd in POSITION_UCDS[frame][axis]:
        for name in table.colnames:
            if str(table[name].meta.get("ucd", "")).lower() == ucd:
                return name
    lower = {name.lower(): name for name in table.colnames}
    for candidate in POSITION_NAMES[frame][axis]:
        if candidate in lower:
            return lower[candidate]
    raise TableFileError(f"{path}: cannot tell which column holds the {what[axis]} (columns: "
                         f"{', '.join(table.colnames)}); name it with "
                         f"--{'ra' if axis == 0 else 'dec'}-column")


def _degrees(column, axis: int, path: Path) -> np.ndarray | None:
    """A numeric column in degrees, or None when it is text (sexagesimal)."""
    from astropy import units as u

    if column.dtype.kind in "USO":
        return None
    values = np.ma.filled(np.ma.asarray(column, dtype=float), np.nan)
    unit = getattr(column, "unit", None)
    if unit is not None and unit != u.dimensionless_unscaled:
        try:
            values = (values * u.Unit(unit)).to_value(u.deg)
        except (u.UnitsError, ValueError):
            raise TableFileError(f"{path}: column {column.name!r} is in {unit}, not an "
                                 "angle") from None
    return values


def read_targets(path: str | Path, *, ra_column: str | None = None,
                 dec_column: str | None = None, frame: str = "icrs") -> Targets:
    """Read a list of positions from CSV, IPAC, VOTable or FITS."""
    from astropy import units as u
    from astropy.table import MaskedColumn

    path = Path(path)
    if frame not in POSITION_NAMES:
        raise TableFileError(f"unknown frame {frame!r}: choose icrs or galactic")
    table = read_table(path)
    lon_name = find_column(table, frame, 0, ra_column, path)
    lat_name = find_column(table, frame, 1, dec_column, path)
    lon = _degrees(table[lon_name], 0, path)
    lat = _degrees(table[lat_name], 1, path)
    plain = frame == "icrs" and lon is not None and lat is not None and \
        getattr(table[lon_name], "unit", None) in (None, u.deg) and \
        getattr(table[lat_name], "unit", None) in (None, u.deg)
    if plain:
        return Targets(astropy_to_arrow(table), lon_name, lat_name, path)
    ra, dec = _to_icrs(table, lon_name, lat_name, lon, lat, frame, path)
    table[ICRS_RA] = MaskedColumn(ra, mask=np.isnan(ra), unit=u.deg)
    table[ICRS_DEC] = MaskedColumn(dec, mask=np.isnan(dec), unit=u.deg)
    return Targets(astropy_to_arrow(table), ICRS_RA, ICRS_DEC, path)


def _to_icrs(table: Table, lon_name: str, lat_name: str, lon, lat, frame: str, path: Path
             ) -> tuple[np.ndarray, np.ndarray]:
    """ICRS degrees from text or non-degree columns, NaN where a row has no position."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    n = len(table)
    ra, dec = np.full(n, np.nan), np.full(n, np.nan)
    for i in range(n) if (lon is None or lat is None) else ():
        a, d = table[lon_name][i], table[lat_name][i]
        if np.ma.is_masked(a) or np.ma.is_masked(d) or not str(a).strip():
            continue
        try:
            hours = frame == "icrs" and bool(re.search(r"[:h\s]", str(a).strip()))
            c = SkyCoord(str(a), str(d), unit=(u.hourangle if hours else u.deg, u.deg),
                         frame=frame)
        except ValueError as exc:
            raise TableFileError(f"{path}: row {i + 1}: cannot read the position "
                                 f"{a} {d}: {exc}") from None
        ra[i], dec[i] = c.icrs.ra.deg, c.icrs.dec.deg
    if lon is not None and lat is not None:
        ok = np.isfinite(lon) & np.isfinite(lat)
        c = SkyCoord(lon[ok] * u.deg, lat[ok] * u.deg, frame=frame).icrs
        ra[ok], dec[ok] = c.ra.deg, c.dec.deg
    return ra, dec


UNIT_KEY, DESCRIPTION_KEY, UCD_KEY = b"unit", b"description", b"ucd"
# The schema's units (column comments), none of them dimensionless: no need to ask astropy
_DIMENSIONED = frozenset({"deg", "arcsec", "arcmin", "mas", "mag", "day", "DN"})


def _has_unit(unit) -> bool:
    """``unit not in (None, "", u.dimensionless_unscaled)``, without importing astropy for
    the schema's own units."""
    if unit is None or unit == "":
        return False
    if isinstance(unit, str) and unit in _DIMENSIONED:
        return True
    from astropy import units as u

    return unit != u.dimensionless_unscaled


def field_metadata(unit, description, ucd: str | None = None) -> dict[bytes, bytes] | None:
    """Arrow field metadata carrying a column's unit, description and UCD (VOTable)."""
    meta = {}
    if _has_unit(unit):
        meta[UNIT_KEY] = str(unit).encode()
    if description:
        meta[DESCRIPTION_KEY] = str(description).encode()
    if ucd:
        meta[UCD_KEY] = str(ucd).encode()
    return meta or None


def astropy_to_arrow(table: Table) -> pa.Table:
    """An astropy table as pyarrow, masked values as nulls, bytes as text; units and
    descriptions go into the fields' metadata."""
    arrays = {}
    fields = []
    for name in table.colnames:
        col = table[name]
        fields.append((name, field_metadata(getattr(col, "unit", None),
                                            getattr(col, "description", None),
                                            (col.meta or {}).get("ucd"))))
        data = np.asarray(col)
        mask = np.ma.getmaskarray(col) if hasattr(col, "mask") else None
        if data.dtype.kind == "S":
            data = np.char.decode(data, "utf-8")
        if not data.dtype.isnative:                  # FITS is big-endian
            data = data.astype(data.dtype.newbyteorder("="))
        if data.ndim > 1:
            arrays[name] = pa.array([None if (mask is not None and np.all(m)) else v.tolist()
                                     for v, m in zip(data, mask if mask is not None
                                                     else [False] * len(data), strict=True)])
            continue
        if data.dtype.kind == "O":
            data = data.astype(str)
        arrays[name] = pa.array(data, mask=mask if mask is not None and mask.any() else None)
    return pa.table([arrays[n] for n, _ in fields], schema=pa.schema(
        [pa.field(n, arrays[n].type, metadata=m) for n, m in fields]))


def _numpy_values(col: pa.ChunkedArray, mask: np.ndarray) -> np.ndarray:
    """A column's values for astropy: numbers stay numbers (DuckDB's ``sum`` of integers is a
    decimal: integral decimals become int64, others float64), everything else (dates, times,
    lists...) becomes text."""
    kind = col.type
    if pa.types.is_decimal(kind):
        try:
            col = col.cast(pa.int64()) if kind.scale == 0 else col.cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            col = col.cast(pa.float64(), safe=False)
        kind = col.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return np.array([v if v is not None else "" for v in col.to_pylist()], dtype=str)
    if pa.types.is_boolean(kind):
        return np.array([bool(v) for v in col.to_pylist()], dtype=bool)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        data = col.to_numpy(zero_copy_only=False)
        if mask.any():
            data = np.where(mask, 0, data).astype(kind.to_pandas_dtype())
        return data
    return np.array([str(v) if v is not None else "" for v in col.to_pylist()], dtype=str)


def arrow_to_astropy(table: pa.Table) -> Table:
    """A pyarrow table as astropy, nulls masked, units and descriptions from the fields'
    metadata."""
    from astropy.table import MaskedColumn, Table

    out = Table()
    for field in table.schema:
        col = table.column(field.name)
        meta = field.metadata or {}
        mask = np.asarray(col.is_null())
        unit = meta.get(UNIT_KEY, b"").decode() or None
        description = meta.get(DESCRIPTION_KEY, b"").decode() or None
        ucd = meta.get(UCD_KEY, b"").decode() or None
        out[field.name] = MaskedColumn(_numpy_values(col, mask), mask=mask, unit=unit,
                                       description=description,
                                       meta={"ucd": ucd} if ucd else None)
    return out


def _null_value(data: np.ndarray) -> int:
    """A TNULL for an integer column that no real value uses (astropy's default, 999999 for
    int64, is a possible pts_key)."""
    info = np.iinfo(data.dtype)
    for candidate in (info.min, info.max):
        if not np.any(data == candidate):
            return int(candidate)
    used = np.unique(data)
    free = np.setdiff1d(np.arange(info.min, info.min + len(used) + 1, dtype=data.dtype), used)
    if not len(free):
        raise TableFileError("no free value to mark the nulls of an integer column in FITS")
    return int(free[0])


def table_to_fits(table: Table) -> fits.BinTableHDU:
    """A FITS binary table HDU that keeps what astropy alone would lose: integer nulls get a
    TNULL no real value uses, logical nulls (FITS has none in astropy) make the column a
    1/0 int16 with a TNULL, and descriptions go into TCOMMn (the HEASARC convention TOPCAT
    reads)."""
    from astropy.io import fits
    from astropy.table import Column, MaskedColumn

    table = table.copy(copy_data=False)
    for name in table.colnames:
        col = table[name]
        masked = isinstance(col, MaskedColumn) and bool(np.any(col.mask))
        if isinstance(col, MaskedColumn) and not masked:       # else TNULL = fill value
            table[name] = col = Column(col.data, unit=col.unit, description=col.description)
        if masked and col.dtype.kind == "b":
            col = MaskedColumn(np.asarray(col.data, dtype=np.int16), mask=col.mask,
                               unit=col.unit, description=col.description)
            table[name] = col
        col = table[name]
        if masked and col.dtype.kind in "iu":
            col.fill_value = _null_value(np.asarray(col.data))
    hdu = fits.table_to_hdu(table)
    for i, name in enumerate(table.colnames, start=1):
        description = table[name].description
        if description:
            hdu.header[f"TCOMM{i}"] = fits_ascii(description)
    return hdu


def fits_ascii(text: str) -> str:
    """FITS headers hold printable ASCII only: other characters as backslash escapes."""
    text = text.encode("ascii", "backslashreplace").decode()
    return "".join(c if " " <= c <= "~" else repr(c)[1:-1] for c in text)


def _descriptions_from_tcomm(table: Table) -> Table:
    for i, name in enumerate(table.colnames, start=1):
        description = table.meta.pop(f"TCOMM{i}", None)
        if description and not table[name].description:
            table[name].description = description
    return table


def write_table(table: Table, path: str | Path, format: str | None = None) -> Path:
    """Write by extension (CSV, IPAC, VOTable, FITS, ECSV) or in the astropy ``format``
    given, replacing the file."""
    path = Path(path)
    fmt = format or table_format(path)
    from astropy.io import fits

    try:
        if fmt == "fits":
            fits.HDUList([fits.PrimaryHDU(), table_to_fits(table)]).writeto(path,
                                                                             overwrite=True)
        else:
            table.write(path, format=fmt, overwrite=True)
    except Exception as exc:
        raise TableFileError(f"{path}: cannot write it as {fmt}: {exc}") from None
    return path
