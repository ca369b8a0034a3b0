"""The VOTable answers of TAP and cone searches: a DALI ``RESOURCE type="results"`` (the
CLI's VOTable writer, catscan.results) whose FIELDs are typed from the columns, never from
the rows (catscan.votable_types). What is TAP's here: a table column's declared unit,
description, UCD and fixed width (``ColumnInfo``) as the Arrow field metadata the writer
reads."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from ..results import Provenance, votable_chunks
from ..tablefile import DESCRIPTION_KEY, UCD_KEY, UNIT_KEY
from ..votable_types import ARRAYSIZE_KEY, XTYPE_KEY
from .tap_schema import ColumnInfo


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


def results_votable(table: pa.Table, provenance: Provenance) -> Iterator[bytes]:
    """A DALI results VOTable: QUERY_STATUS OK and the provenance as INFOs before the
    table, QUERY_STATUS OVERFLOW after the table when truncated."""
    return votable_chunks(table, provenance)
