"""The VOTable answers of TAP and cone searches: a DALI ``RESOURCE type="results"`` whose
FIELDs are typed from the columns, never from the rows, so that an empty answer declares
what a full one does (clients such as ``stilts coneskymatch`` join answers and refuse ones
that differ). The type is tap_schema.votable_type of the Arrow type (text ``char``, dates
DALI timestamps), with the fixed width of a text column where the table declares one
(``designation`` ``char[17]``), carried on the Arrow field as ``ARRAYSIZE_KEY``."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from astropy.io.votable.tree import Field, Resource, VOTableFile
from astropy.io.votable.tree import TableElement as VOTableTable

from ..results import Provenance, info, votable_pieces
from ..tablefile import DESCRIPTION_KEY, UCD_KEY, UNIT_KEY
from .tap_schema import ColumnInfo, votable_type

ARRAYSIZE_KEY = b"votable.arraysize"      # a text column's fixed width, from its table
XTYPE_KEY = b"votable.xtype"              # a text column's xtype (an upload's timestamps)


def declared(info: ColumnInfo) -> dict[bytes, bytes]:
    """Arrow field metadata for a table column: its unit, description and UCD, and its
    fixed width when it has one."""
    meta = {UNIT_KEY: info.unit, DESCRIPTION_KEY: info.description, UCD_KEY: info.ucd}
    out = {k: v.encode() for k, v in meta.items() if v}
    if info.width is not None:
        out[ARRAYSIZE_KEY] = str(info.width).encode()
    if info.xtype is not None:
        out[XTYPE_KEY] = info.xtype.encode()
    return out


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
        longest = pc.max(pc.utf8_length(column)).as_py() if column is not None and \
            len(column) and pa.types.is_string(f.type) else None
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


def results_votable(table: pa.Table, provenance: Provenance) -> Iterator[bytes]:
    """A DALI results VOTable: QUERY_STATUS OK and the provenance as INFOs before the
    table, FIELDs typed by :func:`field_type`, QUERY_STATUS OVERFLOW after the table when
    truncated."""
    document = VOTableFile(version="1.4")
    resource = Resource()
    resource.type = "results"
    document.resources.append(resource)
    resource.infos.append(info("QUERY_STATUS", "OK"))
    resource.infos.extend(info(k, v) for k, v in provenance.items() if k != "status")
    result = VOTableTable(document)
    resource.tables.append(result)
    types = [field_type(f, table.column(i)) for i, f in enumerate(table.schema)]
    for f, (datatype, arraysize, xtype) in zip(table.schema, types, strict=True):
        meta = f.metadata or {}
        element = Field(document, name=f.name, datatype=datatype, arraysize=arraysize,
                        xtype=xtype, unit=meta.get(UNIT_KEY, b"").decode() or None,
                        ucd=meta.get(UCD_KEY, b"").decode() or None)
        element.description = meta.get(DESCRIPTION_KEY, b"").decode() or None
        result.fields.append(element)
    result.create_arrays(table.num_rows)
    for i, (datatype, _, _) in enumerate(types):
        values, mask = _values(table.column(i), datatype)
        result.array[result.fields[i].ID] = values
        result.array.mask[result.fields[i].ID] = mask
    return votable_pieces(document, result, provenance.notice if provenance.truncated else None)


def _values(column: pa.ChunkedArray, datatype: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, mask) of a column for astropy's VOTable writer."""
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
