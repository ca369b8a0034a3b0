"""VOTable FIELDs typed from the columns, never from the rows: the one typing of every
VOTable catscan writes (``catscan query --out x.vot``, the web's downloads, TAP, cone
searches, SIA) and of TAP_SCHEMA.

Clients join the answers of many queries (``stilts coneskymatch``, TOPCAT's multi-cone) and
refuse answers whose FIELDs differ, so an empty result must declare what a full one does:
the datatype comes from the Arrow type (:func:`votable_type`: text ``char``, as the survey's
text is ASCII; dates DALI timestamps), a text column of a table keeps its fixed width from
the release formats (:data:`TEXT_WIDTHS`, carried on the Arrow field as ``ARRAYSIZE_KEY``),
and units are VOUnit (:func:`vounit`: the schema's ``day`` is ``d``).
"""

from __future__ import annotations

import datetime
import functools
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from .tablefile import DESCRIPTION_KEY, UCD_KEY, UNIT_KEY

if TYPE_CHECKING:       # astropy is imported when a VOTable is written (~1 s of start-up)
    from astropy.io.votable.tree import TableElement, VOTableFile

ARRAYSIZE_KEY = b"votable.arraysize"      # a text column's fixed width, from its table
XTYPE_KEY = b"votable.xtype"              # a text column's xtype (an upload's timestamps)

# fixed widths of text columns (the release formats, docs 2mass_reference 1.3 and 2.x):
# their FIELDs say char[n] in every answer, whatever the rows (an empty one too). Single
# characters (hemis, xsc cc_flg) stay char[*]: arraysize "1" is deprecated (VOTable 1.3
# erratum 3) and a missing one makes astropy's reader warn (W47)
TEXT_WIDTHS = {
    "psc": {"designation": 17, "ph_qual": 3, "rd_flg": 3, "bl_flg": 3, "cc_flg": 3,
            "ndet": 6, "dist_edge_flg": 2},
    "xsc": {"designation": 17, "dist_edge_flg": 2},
}


def width_metadata(table: str, column: str) -> dict[bytes, bytes]:
    """Arrow field metadata giving the fixed width of ``table.column``, if it has one."""
    width = TEXT_WIDTHS.get(table, {}).get(column)
    return {ARRAYSIZE_KEY: str(width).encode()} if width is not None else {}


@functools.lru_cache(maxsize=256)
def vounit(unit: str | None) -> str | None:
    """The unit in VOUnit: as written when valid (``deg``), else astropy's VOUnit spelling
    of it (``day`` -> ``d``), else quoted as VOUnit allows for unknown units (``'DN'``)."""
    if not unit:
        return None
    from astropy import units

    for fmt in ("vounit", "generic", "cds"):
        try:
            parsed = units.Unit(unit, format=fmt)
            if not isinstance(parsed, units.UnrecognizedUnit):
                return unit if fmt == "vounit" else parsed.to_string("vounit")
        except ValueError:              # not this format, or no VOUnit spelling (DN)
            continue
    return f"'{unit.strip(chr(39))}'"


def votable_type(kind: pa.DataType) -> tuple[str, str | None, str | None]:
    """(datatype, arraysize, xtype) of a column with this Arrow type: text is
    variable-length char (the survey's text is ASCII), dates and times DALI timestamps,
    integral decimals (DuckDB's sums) long, other decimals double, anything else text."""
    if pa.types.is_boolean(kind):
        return "boolean", None, None
    if pa.types.is_integer(kind):
        if kind == pa.uint8():
            return "unsignedByte", None, None
        width = kind.bit_width + (8 if pa.types.is_unsigned_integer(kind) else 0)
        return ("short" if width <= 16 else "int" if width <= 32 else "long"), None, None
    if pa.types.is_floating(kind):
        return ("double" if kind.bit_width == 64 else "float"), None, None
    if pa.types.is_decimal(kind):
        return ("long" if kind.scale == 0 else "double"), None, None
    if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        return "char", "*", "timestamp"
    return "char", "*", None


def field_type(f: pa.Field, column: pa.ChunkedArray | None = None
               ) -> tuple[str, str | None, str | None]:
    """(datatype, arraysize, xtype) of a result column. A declared width holds unless a
    value is longer (a UNION with other text): then the text is variable-length."""
    datatype, arraysize, xtype = votable_type(f.type)
    meta = f.metadata or {}
    if datatype == "char" and xtype is None and XTYPE_KEY in meta:
        xtype = meta[XTYPE_KEY].decode()
    width = meta.get(ARRAYSIZE_KEY)
    if width is not None and datatype == "char":
        longest = None
        if column is not None and len(column) and pa.types.is_string(f.type):
            import pyarrow.compute as pc  # ~0.1 s to import: only when a VOTable is written

            longest = pc.max(pc.utf8_length(column)).as_py()
        if longest is None or longest <= int(width):
            arraysize = width.decode()
    return datatype, arraysize, xtype


def dali_times(column: pa.ChunkedArray) -> list[str | None]:
    """DALI timestamps: YYYY-MM-DD['T'hh:mm:ss[.SSS]], UTC with a Z for zoned times."""
    out = []
    for value in column.to_pylist():
        if value is None:
            out.append(None)
        elif hasattr(value, "hour"):
            zone = value.tzinfo is not None
            if zone:
                value = value.astimezone(datetime.UTC).replace(tzinfo=None)
            out.append(value.isoformat() + ("Z" if zone else ""))
        else:
            out.append(value.isoformat())
    return out


def votable_table(document: VOTableFile, table: pa.Table) -> TableElement:
    """A VOTable TABLE of ``document`` holding ``table``: FIELDs typed by
    :func:`field_type`, with the VOUnit unit, UCD and description of the Arrow fields'
    metadata, and the values (nulls masked)."""
    from astropy.io.votable.tree import Field, TableElement

    element = TableElement(document)
    types = [field_type(f, table.column(i)) for i, f in enumerate(table.schema)]
    for f, (datatype, arraysize, xtype) in zip(table.schema, types, strict=True):
        meta = f.metadata or {}
        field = Field(document, name=f.name, datatype=datatype, arraysize=arraysize,
                      xtype=xtype, unit=vounit(meta.get(UNIT_KEY, b"").decode() or None),
                      ucd=meta.get(UCD_KEY, b"").decode() or None)
        field.description = meta.get(DESCRIPTION_KEY, b"").decode() or None
        element.fields.append(field)
    element.create_arrays(table.num_rows)
    for i, (datatype, _, _) in enumerate(types):
        values, mask = column_values(table.column(i), datatype)
        element.array[element.fields[i].ID] = values
        element.array.mask[element.fields[i].ID] = mask
    return element


def column_values(column: pa.ChunkedArray, datatype: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, mask) of a column for astropy's VOTable writer, as ``datatype``."""
    mask = np.asarray(column.is_null(), dtype=bool)
    kind = column.type
    if datatype in ("char", "unicodeChar"):
        if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
            texts = dali_times(column)
        elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            texts = [v.hex() if v is not None else None for v in column.to_pylist()]
        else:
            texts = [v if v is None or isinstance(v, str) else str(v)
                     for v in column.to_pylist()]
        return np.array([t if t is not None else "" for t in texts], dtype=object), mask
    if pa.types.is_decimal(kind):
        column = column.cast(pa.int64() if kind.scale == 0 else pa.float64(), safe=False)
    if datatype == "boolean":
        return np.array([bool(v) for v in column.to_pylist()], dtype=bool), mask
    filled = column.fill_null(0) if mask.any() else column
    return np.asarray(filled.to_numpy(), dtype=_NUMPY[datatype]), mask


_NUMPY = {"unsignedByte": np.uint8, "short": np.int16, "int": np.int32, "long": np.int64,
          "float": np.float32, "double": np.float64}
