"""The results VOTable of catscan.results.votable_chunks (TAP, SCS), written without
building astropy's tree for each answer: a cone of a few rows spent ~2-3 ms of its ~6 ms
there (docs/performance.md).

astropy writes the document once per shape of answer (its FIELDs and which INFOs it
carries), with markers in place of the INFO values, and once more with one row of nulls,
which shows where the rows go. An answer then fills in its values, escaped by astropy's own
functions, and writes its rows with astropy's C TABLEDATA writer and the FIELDs' own
converters, a chunk of rows at a time (the running budget checked between chunks, as
catscan.results.votable_pieces does). The bytes are those of
:func:`catscan.results.votable_chunks` (tests/test_web_tabledata.py); a shape whose
template does not check out is written by it."""

from __future__ import annotations

import io
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .. import budget as budgets
from ..results import Provenance, chunk_rows
from ..results import _after_table as after_table
from ..results import votable_chunks as by_astropy
from ..votable_types import ARRAYSIZE_KEY, column_values, field_type

log = logging.getLogger("catscan.web")
SHAPES_KEPT = 128                     # shapes of answer kept (TAP: one per column list)
_MARK = "CATSCANMARK"
_SLOT = re.compile(_MARK + r"(\d+)A(?:([ \n])" + _MARK + r"\1B)?")


@dataclass(frozen=True)
class _Shape:
    """What an answer of one shape is written from."""

    pieces: tuple[str, ...]            # the head's text between the value slots
    slots: tuple[tuple[int, str], ...]  # (item, "attr" | "text") of each slot
    data_open: str                      # "<DATA><TABLEDATA>" lines before the first row
    end: str                            # from the "</TABLEDATA>" line to the end
    formats: tuple[str, ...]            # numpy types astropy gives the columns
    outputs: tuple[Callable, ...]       # the FIELDs' converters
    empties: tuple[bool, ...]           # whether a null is written <TD/>
    indent: int


class _Marked:
    """A provenance whose values are markers (the shape's template)."""

    truncated, notice = False, None

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items

    def items(self) -> list[tuple[str, str]]:
        return self._items


_SHAPES: OrderedDict[tuple, _Shape | None] = OrderedDict()
_LOCK = threading.Lock()


def results_votable(table: pa.Table, provenance: Provenance) -> Iterator[bytes]:
    """The pieces of :func:`catscan.results.votable_chunks`, written faster."""
    types = [field_type(f, table.column(i)) for i, f in enumerate(table.schema)]
    items = [(k, v) for k, v in provenance.items() if k != "status"]
    key = (tuple((f.name, str(f.type), tuple(sorted((f.metadata or {}).items())))
                 for f in table.schema),
           tuple(types), tuple((k, "\n" in v, v == "") for k, v in items))
    with _LOCK:
        shape = _SHAPES.get(key, False)
        if shape is not False:
            _SHAPES.move_to_end(key)
    if shape is False:
        shape = _shape(table.schema, types, items)
        with _LOCK:
            _SHAPES[key] = shape
            if len(_SHAPES) > SHAPES_KEPT:
                _SHAPES.popitem(last=False)
    if shape is None:
        return by_astropy(table, provenance)
    return _pieces(shape, table, types, items, provenance)


def _pieces(shape: _Shape, table: pa.Table, types: list, items: list[tuple[str, str]],
            provenance: Provenance) -> Iterator[bytes]:
    from astropy.utils.xml.writer import xml_escape, xml_escape_cdata

    head = [shape.pieces[0]]
    for (item, kind), piece in zip(shape.slots, shape.pieces[1:], strict=True):
        value = items[item][1]
        head.append(xml_escape(value.replace("\n", " ")) if kind == "attr"
                    else xml_escape_cdata(value))
        head.append(piece)
    first = "".join(head) + shape.data_open
    step = chunk_rows(table.num_columns)
    for start in range(0, table.num_rows, step):
        if start:
            try:
                budgets.check()
            except budgets.OutOfTime as exc:
                yield after_table(shape.end.encode(), "ERROR", f"{exc}: the rows above are "
                                  f"the first {start} of {table.num_rows}")
                return
        rows = _rows(shape, table.slice(start, step), types)
        yield ((first + rows) if start == 0 else rows).encode()
        first = ""
    tail = (first + shape.end).encode()
    yield after_table(tail, "OVERFLOW", provenance.notice) if provenance.truncated else tail


def _rows(shape: _Shape, chunk: pa.Table, types: list) -> str:
    """TABLEDATA rows, as astropy writes them from its arrays."""
    from astropy.io.votable import tablewriter

    columns, masks = [], []
    for i, (datatype, _, _) in enumerate(types):
        values, mask = column_values(chunk.column(i), datatype)
        columns.append(np.asarray(values, dtype=shape.formats[i]))
        masks.append(mask)
    out = io.StringIO()
    tablewriter.write_tabledata(out.write, list(zip(*columns, strict=True)),
                                list(zip(*masks, strict=True)), list(shape.outputs),
                                list(shape.empties), shape.indent, 1 << 8)
    return out.getvalue()


def _shape(schema: pa.Schema, types: list, items: list[tuple[str, str]]) -> _Shape | None:
    """The shape's template, checked: its head, one row of nulls written here and its end
    must give astropy's document of that row, and without the row the empty document;
    None (astropy writes) when they do not."""
    from astropy.io.votable.tree import Field, VOTableFile

    fields = []                    # a declared width given up for longer values stays so
    for f, (_, arraysize, _) in zip(schema, types, strict=True):
        meta = dict(f.metadata or {})
        if ARRAYSIZE_KEY in meta and meta[ARRAYSIZE_KEY].decode() != arraysize:
            del meta[ARRAYSIZE_KEY]
        fields.append(f.with_metadata(meta or None))
    template = pa.schema(fields)
    marked = [(k, "" if v == "" else f"{_MARK}{i}A" + (f"\n{_MARK}{i}B" if "\n" in v else ""))
              for i, (k, v) in enumerate(items)]
    try:
        empty = b"".join(by_astropy(template.empty_table(), _Marked(marked))).decode()
        nulls = pa.table([pa.nulls(1, f.type) for f in template], schema=template)
        one = b"".join(by_astropy(nulls, _Marked(marked))).decode()
    except Exception as exc:                # astropy refuses something: it says so itself
        log.info("no VOTable template for %s: %s", schema.names, exc)
        return None
    if "<TR>" not in one:
        return None
    row_start = one.rindex("\n", 0, one.index("<TR>")) + 1
    row_end = one.rindex("</TR>\n") + len("</TR>\n")
    before, row, end = one[:row_start], one[row_start:row_end], one[row_end:]
    data_at = before.rindex("\n", 0, before.rindex("<DATA>")) + 1
    head, data_open = before[:data_at], before[data_at:]
    pieces, slots, at = [], [], 0
    for match in _SLOT.finditer(head):
        pieces.append(head[at:match.start()])
        slots.append((int(match.group(1)), "text" if match.group(2) == "\n" else "attr"))
        at = match.end()
    pieces.append(head[at:])
    wanted = sum(1 + ("\n" in v) for _, v in items if v != "")
    if len(slots) != wanted or _MARK in "".join(pieces) + data_open + end \
            or empty != head + data_open + end:
        return None
    document = VOTableFile(version="1.4")
    converters = [Field(document, name=f.name, datatype=d, arraysize=a, xtype=x).converter
                  for f, (d, a, x) in zip(template, types, strict=True)]
    config = {"version": document.version, **document._get_version_checks()}
    shape = _Shape(tuple(pieces), tuple(slots), data_open, end,
                   tuple(c.format for c in converters), tuple(c.output for c in converters),
                   tuple(bool(c.supports_empty_values(config)) for c in converters),
                   row.index("<TR>") - 1)
    if _rows(shape, nulls, types) != row:
        return None
    return shape
