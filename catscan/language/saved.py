"""Saved queries: ``.catscan`` files that teams share. A comment header, then the query:

    -- title: Clean photometry around M31
    -- description: Point sources near M31's nucleus with A or B quality in J, H and Ks.
    -- author: catscan
    -- param: radius angle 5arcmin
    -- param: jmax number 15 mag
    select basic from psc within $radius of 10.68479 +41.26906 where j_m < $jmax

A parameter line is ``-- param: NAME TYPE DEFAULT [UNIT]``; TYPE is one of PARAM_TYPES. A
value given on the command line is checked against the type; an angle given as a bare
number takes the parameter's unit.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..positions import DEG_PER_UNIT, PositionError, parse_angle
from .errors import QueryError

PARAM_TYPES = ("number", "integer", "angle", "text", "date", "coordinate")
SUFFIX = ".catscan"
_HEADER = re.compile(r"^--\s*(title|description|author|param)\s*:\s*(.*?)\s*$", re.I)


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str
    default: str | None
    unit: str | None = None


@dataclass(frozen=True)
class SavedQuery:
    name: str
    path: Path | None
    text: str
    title: str = ""
    description: str = ""
    author: str = ""
    params: dict[str, ParamSpec] = field(default_factory=dict)

    def values(self, given: dict[str, str] | None = None) -> dict[str, str]:
        """Parameter values: the defaults overridden by ``given``, each checked."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            raise QueryError(f"{self.name} has no parameter {', '.join(unknown)} (it has "
                             f"{', '.join(self.params) or 'none'})")
        out = {}
        for name, spec in self.params.items():
            value = given.get(name, spec.default)
            if value is None:
                raise QueryError(f"{self.name}: give a value for ${name} ({spec.type})",
                                 hint=f"--param {name}=VALUE")
            out[name] = check_value(spec, str(value), self.name)
        return out


def check_value(spec: ParamSpec, value: str, where: str) -> str:
    """The value as the query text needs it, or a QueryError saying what is wrong."""
    problem = f"{where}: ${spec.name} must be {'an' if spec.type[0] in 'aei' else 'a'} " \
              f"{spec.type}, not {value!r}"
    try:
        if spec.type == "number":
            float(value)
        elif spec.type == "integer":
            int(value)
        elif spec.type == "date":
            dt.date.fromisoformat(value)
        elif spec.type == "angle":
            unit = spec.unit or "deg"
            if unit not in DEG_PER_UNIT:            # astropy only for a unit of its own
                from astropy import units as u

                unit = u.Unit(unit)
            return f"{parse_angle(value, unit=unit) * 3600!r}arcsec"
    except (ValueError, PositionError):
        raise QueryError(problem) from None
    return value


def parse_saved(text: str, name: str, path: Path | None = None) -> SavedQuery:
    """A SavedQuery from a file's text: header lines first, then the query."""
    fields: dict[str, str] = {}
    params: dict[str, ParamSpec] = {}
    body: list[str] = []
    header = True
    for number, line in enumerate(text.splitlines(), 1):
        match = _HEADER.match(line.strip()) if header else None
        header = header and (match is not None or not line.strip())
        if match:
            key, value = match.group(1).lower(), match.group(2)
            if key == "param":
                spec = _param(value, name, number)
                params[spec.name] = spec
            else:
                fields[key] = value
            body.append("")                   # keep line numbers for error carets
            continue
        body.append(line)
    query = "\n".join(body)
    if not query.strip():
        raise QueryError(f"{name}: the file holds no query")
    return SavedQuery(name, path, query, fields.get("title", ""), fields.get("description", ""),
                      fields.get("author", ""), params)


def _param(value: str, name: str, line: int) -> ParamSpec:
    parts = value.split()
    if len(parts) < 2 or parts[1] not in PARAM_TYPES or not re.fullmatch(r"[A-Za-z_]\w*",
                                                                        parts[0]):
        raise QueryError(f"{name}, line {line}: a parameter line is '-- param: NAME TYPE "
                         f"DEFAULT [UNIT]' with TYPE one of {', '.join(PARAM_TYPES)}")
    default = parts[2] if len(parts) > 2 else None
    unit = parts[3] if len(parts) > 3 else None
    return ParamSpec(parts[0], parts[1], default, unit)


def load_saved(path: str | Path) -> SavedQuery:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise QueryError(f"{path}: {exc.strerror or exc}") from None
    return parse_saved(text, path.stem, path)


def shipped() -> dict[str, SavedQuery]:
    """The example queries that come with catscan (``queries/``), by name."""
    root = resources.files("catscan.queries")
    out = {}
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(SUFFIX):
            name = entry.name[:-len(SUFFIX)]
            path = entry if isinstance(entry, Path) else None     # a zipped install: none
            out[name] = parse_saved(entry.read_text(encoding="utf-8"), name, path)
    return out


def find_saved(name_or_path: str) -> SavedQuery:
    """A file path, else the name of a shipped query."""
    path = Path(name_or_path)
    if path.suffix == SUFFIX or path.exists():
        return load_saved(path)
    queries = shipped()
    if name_or_path in queries:
        return queries[name_or_path]
    import difflib

    close = difflib.get_close_matches(name_or_path, list(queries), n=3)
    raise QueryError(f"no query file or shipped query named {name_or_path!r}",
                     hint=("did you mean " + " or ".join(close) + "?") if close else
                     "`catscan queries` lists the shipped ones")
