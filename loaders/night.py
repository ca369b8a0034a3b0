"""``catscan load night``: a night's delivery through the Quality Review gate, atomically.

In 1998 a night was processed on barney (north) or rex (south), held for 1-3 days of
Quality Review, and only then transferred into the database, and only scans meeting the QA
minimum were loaded ("scans with score > 3 are loaded", 2mass_reference.md §7.2). Here:

- every scan of the delivery is recorded in ``scans``; only science scans with status P
  and a QA score above ``min_score`` bring their sources and Atlas Images; the others keep
  ``loaded = false`` and the reason;
- a night is one transaction: its scans, sources, images, health summary, history and tile
  states appear together or not at all. A bad file rejects its scan with file:line; the
  night then loads only with ``skip_bad_scans`` (the bad scans are recorded as rejected);
- a delivery processed with a newer 2MAPPS version replaces the night's rows in the same
  transaction (the history and the audit rows are kept); an older or different delivery of
  the same version is refused unless ``force``; the same delivery again changes nothing;
- duplicate resolution (use_src / dup_src) is redone for the scans the night touched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from catscan import __version__
from catscan.db import schema_version, transaction
from catscan.errors import LoadError
from catscan.progress import Progress
from catscan.spatial import ranges_sql

from . import delivery
from .duplicates import neighbours, resolve_duplicates, sky_of_scans
from .load import CheckFailed, as_given, insert_release_files
from .optimize import cell_ranges, dirty_cells, finish_sorts, mark_dirty
from .qa_gate import DEFAULT_MIN_SCORE, gate
from .readers import STAGE, Staged, stage_file
from .schema_info import file_columns, quote
from .tables import RULES
from .tile_states import ensure_tiles, update_tiles
from .validate import check_unique, has_violations, validate

_SCANS = "catscan_night_scans"
_GATE = "catscan_gate"
_IMAGES = "catscan_images"
_KEYS = "catscan_night_keys"       # record keys of the files a diagnosis has passed
_XSC_RULES = replace(RULES["xsc"], may_be_empty=True)


@dataclass
class ScanOutcome:
    scan: int
    scan_key: int
    tile: int | None
    loaded: bool
    reason: str


@dataclass
class NightResult:
    path: Path
    night: str
    version: str = ""
    kind: str = ""
    outcome: str = ""                 # loaded | reprocessed | replaced | unchanged
    load_id: int | None = None
    previous: tuple[str, int] | None = None   # (version, load_id) replaced
    superseded_by: int | None = None          # unchanged: the load that replaced this one
    scans: list[ScanOutcome] = field(default_factory=list)
    bad_scans: list[LoadError] = field(default_factory=list)
    psc_rows: int = 0
    xsc_rows: int = 0
    images: int = 0
    seconds: float = 0.0

    @property
    def loaded_scans(self) -> list[ScanOutcome]:
        return [s for s in self.scans if s.loaded]

    def summary(self) -> str:
        if self.outcome == "unchanged" and self.superseded_by:
            return (f"{self.path}: night {self.night} ({self.version}) was loaded from this "
                    f"very delivery (load {self.load_id}) and superseded since (load "
                    f"{self.superseded_by}); nothing changed (--force reloads it)")
        if self.outcome == "unchanged":
            return (f"{self.path}: night {self.night} ({self.version}) is already loaded "
                    f"from this very delivery (load {self.load_id}); nothing changed")
        verb = {"loaded": "loaded", "reprocessed": "reprocessed",
                "replaced": "replaced (forced)"}[self.outcome]
        was = f", replacing {self.previous[0]} (load {self.previous[1]})" \
            if self.previous else ""
        rejected = len(self.scans) - len(self.loaded_scans)
        return (f"{self.path}: night {self.night} {verb} with 2MAPPS {self.version}{was}: "
                f"{len(self.loaded_scans)} of {len(self.scans)} scans passed Quality Review "
                f"({rejected} recorded only), {self.psc_rows:,} point sources, "
                f"{self.xsc_rows:,} extended sources, {self.images} Atlas Images "
                f"(load {self.load_id}, {self.seconds:.1f} s)")


def _first(cursor) -> tuple | None:
    """The first row of a result, fetching all of it (DuckDB 2.0 refuses new work on a
    connection with a half-read result)."""
    rows = cursor.fetchall()
    return rows[0] if rows else None


def _stage_rows(con: duckdb.DuckDBPyConnection, path: Path, table: str,
                replacing: list[int], manifest: delivery.Manifest) -> pa.Table:
    """Read, check and return a small per-night table file (scans, health summary)."""
    if not path.is_file():
        raise LoadError(str(path), "missing from the delivery")
    rules = RULES[table]
    staged = stage_file(con, path, rules)
    validate(con, rules, staged, replacing)
    bad = _first(con.execute(f"SELECT rowid, date, hemis FROM {STAGE} WHERE date <> ? "
                             "OR hemis <> ? ORDER BY rowid LIMIT 1",
                             [manifest.date, manifest.hemis]))
    if bad:
        raise LoadError(str(path), f"row of night {bad[1]:%y%m%d}{bad[2]} in the delivery of "
                        f"night {manifest.name}", line=staged.locate(bad[0]), column="date")
    if table == "scans":
        check_unique(con, staged, "scan")
    rows = con.sql(f"SELECT * FROM {STAGE} ORDER BY rowid").to_arrow_table()
    con.execute(f"DROP TABLE IF EXISTS {STAGE}")
    return rows


def _current(con: duckdb.DuckDBPyConnection, manifest: delivery.Manifest):
    return _first(con.execute("SELECT version, load_id FROM nights WHERE date = ? AND hemis = ?",
                       [manifest.date, manifest.hemis]))


def _decide_replacement(con, manifest: delivery.Manifest, directory: Path,
                        force: bool) -> tuple[str, int] | None:
    """The (version, load_id) this delivery replaces, or an error if it may not."""
    current = _current(con, manifest)
    if current is None or current[1] is None:
        return None
    version, load_id = current
    new, old = delivery.version_key(manifest.version), delivery.version_key(version)
    if new < old and not force:
        raise LoadError(str(directory), f"night {manifest.name} is loaded with 2MAPPS "
                        f"{version} (load {load_id}); this delivery was processed with the "
                        f"older {manifest.version}: refused (--force loads it anyway)")
    if new == old and not force:
        raise LoadError(str(directory), f"night {manifest.name} is already loaded with 2MAPPS "
                        f"{version} (load {load_id}) from a different delivery of the same "
                        "version: refused (--force replaces it)")
    return current


def load_night(con: duckdb.DuckDBPyConnection, directory: str | Path, *,
               min_score: float = DEFAULT_MIN_SCORE, skip_bad_scans: bool = False,
               force: bool = False, progress: Progress | None = None,
               compression: dict | None = None) -> NightResult:
    """Load one night's delivery directory (see the module docstring)."""
    progress = progress or Progress(enabled=False)
    directory = as_given(directory)
    started = datetime.now(UTC)
    manifest = delivery.read_manifest(directory)
    result = NightResult(directory, manifest.name, manifest.version, manifest.kind)
    digest, size = delivery.delivery_digest(directory)
    same = _first(con.execute(
        "SELECT load_id, status, replaced_by FROM loads WHERE kind = 'night' AND sha256 = ? "
        "ORDER BY load_id DESC LIMIT 1", [digest]))
    if same and (same[1] == "loaded" or not force):
        # loaded already, or loaded once and superseded since (a reprocessing replaced it)
        result.outcome, result.load_id = "unchanged", same[0]
        result.superseded_by = same[2]
        return result
    previous = _decide_replacement(con, manifest, directory, force)
    replacing = [previous[1]] if previous else []
    scans = _stage_rows(con, directory / delivery.SCANS, "scans", replacing, manifest)
    health = _stage_rows(con, directory / delivery.HEALTH, "night_qa", replacing, manifest)
    for row in scans.to_pylist():
        loaded, reason = gate(row, min_score)
        result.scans.append(ScanOutcome(row["scan"], row["scan_key"], row["tile"], loaded,
                                        reason))
    con.register(_SCANS, scans)
    try:
        try:
            with progress.step(con, f"loading night {manifest.name}"):
                _load(con, manifest, directory, result, scans, health, previous,
                      (digest, size, started), compression or {})
        except (duckdb.Error, CheckFailed, LoadError) as failure:
            with progress.step(con, f"finding the bad scans of {manifest.name}"):
                bad = _diagnose(con, directory, result, replacing, compression or {})
            if not bad:
                raise LoadError(str(directory), str(failure).strip().split("\n")[0]
                                or "a check failed that no single scan shows") from None
            if not skip_bad_scans:
                first = bad[0]
                raise LoadError(first.path, f"{first.detail} (scan rejected; night "
                                f"{manifest.name} not loaded: --skip-bad-scans loads its "
                                "other scans)", line=first.line, column=first.column) from None
            result.bad_scans = bad
            for outcome in result.scans:
                error = next((e for e in bad if _scan_of(directory, Path(e.path))
                              == outcome.scan), None)
                if error is not None and outcome.loaded:
                    outcome.loaded, outcome.reason = False, f"rejected at load: {error}"
            result.psc_rows = result.xsc_rows = result.images = 0
            try:
                with progress.step(con, f"loading night {manifest.name} without its bad "
                                   "scans"):
                    _load(con, manifest, directory, result, scans, health, previous,
                          (digest, size, started), compression or {})
            except (duckdb.Error, CheckFailed) as again:
                raise LoadError(str(directory), str(again).strip().split("\n")[0]) from None
    finally:
        con.unregister(_SCANS)
        con.execute(f"DROP TABLE IF EXISTS {STAGE}")
    result.previous = previous
    if previous is None:
        result.outcome = "loaded"
    elif delivery.version_key(manifest.version) > delivery.version_key(previous[0]):
        result.outcome = "reprocessed"
    else:
        result.outcome = "replaced"
    result.seconds = (datetime.now(UTC) - started).total_seconds()
    return result


def _scan_of(directory: Path, path: Path) -> int | None:
    """The scan number a delivery file belongs to (``sNNN/...``), if any."""
    try:
        first = as_given(path).relative_to(directory).parts[0]
    except (ValueError, IndexError):
        return None
    return int(first[1:]) if first.startswith("s") and first[1:].isdigit() else None


def _source_files(directory: Path, outcome: ScanOutcome) -> list[tuple]:
    """(rules, path) of a loadable scan's point and extended source files."""
    files = [(RULES["psc"], directory / delivery.psc_file(outcome.scan)),
             (_XSC_RULES, directory / delivery.xsc_file(outcome.scan))]
    for _, path in files:
        if not path.is_file():
            raise LoadError(str(path), "missing from the delivery")
    return files


def _images_of(directory: Path, scan: int) -> list[Path]:
    folder = directory / delivery.image_dir(scan)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if delivery.IMAGE_FILE.match(p.name))


def _image_rows(directory: Path, manifest: delivery.Manifest, outcome: ScanOutcome,
                compression: dict) -> list[dict]:
    from .images import image_record

    rows = []
    for path in _images_of(directory, outcome.scan):
        record = image_record(path, outcome.scan_key, **compression)
        if record["scan"] != outcome.scan or record["date"] != manifest.date \
                or record["hemis"] != manifest.hemis:
            raise LoadError(str(path), f"image of {record['date']:%y%m%d}{record['hemis']} "
                            f"scan {record['scan']} in the directory of night "
                            f"{manifest.name} scan {outcome.scan}", column="SCANNO")
        rows.append(record)
    return rows


def _load(con, manifest: delivery.Manifest, directory: Path, result: NightResult,
          scans: pa.Table, health: pa.Table, previous, audit, compression: dict) -> None:
    """The night's one transaction."""
    digest, size, started = audit
    loaded = [s for s in result.scans if s.loaded]
    with transaction(con):
        load_id = con.execute("SELECT nextval('loads_seq')").fetchall()[0][0]
        result.load_id = load_id
        con.execute(
            "INSERT INTO loads (load_id, kind, target, path, sha256, bytes, format, "
            "rows_accepted, catscan_version, schema_version, started, finished) "
            "VALUES (?, 'night', 'scans, psc, xsc, atlas_images, nights, night_qa', ?, ?, ?, "
            "'delivery', 0, ?, ?, ?, ?)",
            [load_id, str(directory), digest, size, __version__, schema_version(), started,
             started])
        old = _night_scan_keys(con, manifest)
        near_old = neighbours(con, old) if old else set()
        old_keys = _remove_night(con, manifest, previous, load_id)
        _insert_scans(con, result, load_id)
        files = [(rules, path, o) for o in loaded for rules, path in _source_files(directory, o)]
        for rules in (RULES["psc"], _XSC_RULES):
            mine = [(path, o) for r, path, o in files if r is rules]
            if not mine:
                continue
            owners = pa.table({
                "o_file": [str(path) for path, _ in mine],
                "o_scan_key": pa.array([o.scan_key for _, o in mine], pa.int32()),
                "o_date": pa.array([manifest.date] * len(mine), pa.date32()),
                "o_hemis": [manifest.hemis] * len(mine),
                "o_scan": pa.array([o.scan for _, o in mine], pa.int16())})
            rows, _ = insert_release_files(con, rules, [path for path, _ in mine], load_id,
                                           owners)
            if rules.table == "psc":
                result.psc_rows += rows
            else:
                result.xsc_rows += rows
        for outcome in loaded:
            images = _image_rows(directory, manifest, outcome, compression)
            if images:
                _insert_images(con, images, load_id)
                result.images += len(images)
        for table in ("psc", "xsc"):
            columns = [c.name for c in file_columns(con, table)]
            cells = dirty_cells(con, table)     # the sky of the night's rows (and old ones)
            sky = ranges_sql(cell_ranges(cells)) if cells else None
            if has_violations(con, RULES[table], columns, load_id, sky):
                raise CheckFailed()
        _write_night(con, manifest, health, load_id, result, previous)
        touched = sorted({s.scan_key for s in result.scans} | set(old_keys))
        update_tiles(con, touched)
        # a scan the new delivery dropped has lost its corners: its old neighbours (read
        # before the delete) are resolved again with the rest
        dropped = set(old_keys) - {s.scan_key for s in result.scans}
        resolve_duplicates(con, sorted(set(touched) | near_old) if dropped else touched)
        con.execute(
            "UPDATE loads SET rows_accepted = ?, rows_rejected = 0, scans_accepted = ?, "
            "scans_rejected = ?, rejects = ?, finished = ? WHERE load_id = ?",
            [result.psc_rows + result.xsc_rows, len(loaded), len(result.scans) - len(loaded),
             json.dumps([{"what": f"scan {s.scan}", "reason": s.reason}
                         for s in result.scans if not s.loaded]),
             datetime.now(UTC), load_id])


def _night_scan_keys(con, manifest: delivery.Manifest) -> list[int]:
    return [r[0] for r in con.execute("SELECT scan_key FROM scans WHERE date = ? AND hemis = ?",
                                      [manifest.date, manifest.hemis]).fetchall()]


def _remove_night(con, manifest: delivery.Manifest, previous, load_id: int) -> list[int]:
    """Delete the rows of the delivery being replaced; returns its scan keys.

    The catalogue rows are deleted within the sky of the scans' footprints, so the zone maps
    skip the rest of psc and xsc; if that removes fewer rows than the replaced load brought
    (a row outside its scan's footprint), the delete runs again over the whole table."""
    keys = _night_scan_keys(con, manifest)
    if keys:
        listed = ", ".join(str(int(k)) for k in keys)
        sky = sky_of_scans(con, keys)
        removed = 0
        for table in ("psc", "xsc"):       # their storage cells settle after the load
            mark_dirty(con, table, f"FROM {table} WHERE scan_key IN ({listed}) AND {sky}")
            removed += con.execute(f"DELETE FROM {table} WHERE scan_key IN ({listed}) "
                                   f"AND {sky}").fetchall()[0][0]
        brought = _first(con.execute("SELECT rows_accepted FROM loads WHERE load_id = ?",
                                     [previous[1] if previous else None]))
        if brought is None or removed != brought[0]:
            for table in ("psc", "xsc"):
                con.execute(f"DELETE FROM {table} WHERE scan_key IN ({listed})")
        for table in ("atlas_images", "scans"):
            con.execute(f"DELETE FROM {table} WHERE scan_key IN ({listed})")
    con.execute("DELETE FROM night_qa WHERE date = ? AND hemis = ?",
                [manifest.date, manifest.hemis])
    if previous and previous[1] is not None:
        con.execute("UPDATE loads SET status = 'replaced', replaced_by = ? WHERE load_id = ?",
                    [load_id, previous[1]])
    return keys


def _insert_scans(con, result: NightResult, load_id: int) -> None:
    gate_rows = pa.table({"scan_key": [s.scan_key for s in result.scans],
                          "loaded": [s.loaded for s in result.scans],
                          "load_reason": [s.reason for s in result.scans]})
    con.register(_GATE, gate_rows)
    try:
        names = [c.name for c in file_columns(con, "scans")]
        cols = ", ".join(quote(n) for n in names)
        picked = ", ".join(f"s.{quote(n)}" for n in names)
        con.execute(f"INSERT INTO scans ({cols}, hpx29, loaded, load_reason, load_id) "
                    f"SELECT {picked}, s.hpx29, g.loaded, g.load_reason, ? "
                    f"FROM {_SCANS} s JOIN {_GATE} g USING (scan_key)", [load_id])
    finally:
        con.unregister(_GATE)


def _insert_images(con, images: list[dict], load_id: int) -> None:
    names = [c for c in images[0] if c != "load_id"]
    table = pa.table({c: [r[c] for r in images] for c in names})
    con.register(_IMAGES, table)
    try:
        cols = ", ".join(quote(c) for c in names)
        con.execute(f"INSERT INTO atlas_images ({cols}, hpx29, load_id) "
                    f"SELECT {cols}, hpx29(crval1, crval2), ? FROM {_IMAGES}", [load_id])
    finally:
        con.unregister(_IMAGES)


def _write_night(con, manifest: delivery.Manifest, health: pa.Table, load_id: int,
                 result: NightResult, previous) -> None:
    con.execute(
        "INSERT OR REPLACE INTO nights (date, hemis, facility, computer, tape_received, "
        "validated, processed, version, kind, load_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [manifest.date, manifest.hemis, manifest.facility, manifest.computer,
         manifest.tape_received, manifest.validated, manifest.processed, manifest.version,
         manifest.kind, load_id])
    note = []
    if previous and previous[1] is not None:
        note.append(f"replaces 2MAPPS {previous[0]} (load {previous[1]})")
    if result.bad_scans:
        note.append("bad scans skipped: " + "; ".join(str(e) for e in result.bad_scans))
    con.execute(
        "INSERT INTO processing_history (date, hemis, kind, version, tape_received, validated, "
        "processed, outcome, load_id, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [manifest.date, manifest.hemis, manifest.kind, manifest.version,
         manifest.tape_received, manifest.validated, manifest.processed,
         "partial" if result.bad_scans else "ok", load_id, "; ".join(note) or None])
    if health.num_rows:
        con.register("catscan_health", health)
        try:
            names = [c.name for c in file_columns(con, "night_qa")]
            cols = ", ".join(quote(n) for n in names)
            con.execute(f"INSERT INTO night_qa ({cols}, load_id) SELECT {cols}, ? "
                        "FROM catscan_health", [load_id])
        finally:
            con.unregister("catscan_health")


def _diagnose(con, directory: Path, result: NightResult, replacing: list[int],
              compression: dict) -> list[LoadError]:
    """After a failed night (rolled back): check each loadable scan alone, naming the bad
    file and line of every scan that fails."""
    manifest = delivery.read_manifest(directory)
    bad: list[LoadError] = []
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_KEYS} (table_name VARCHAR, key BIGINT, "
                "scan SMALLINT, path VARCHAR, k BIGINT)")
    try:
        for outcome in result.scans:
            if not outcome.loaded:
                continue
            try:
                for rules, path in _source_files(directory, outcome):
                    staged = stage_file(con, path, rules)
                    validate(con, rules, staged, replacing)
                    _check_staged_belongs(con, staged, outcome, manifest)
                    _check_night_keys(con, staged, rules, outcome.scan)
                _image_rows(directory, manifest, outcome, compression)
            except LoadError as error:
                con.execute(f"DELETE FROM {_KEYS} WHERE scan = ?", [outcome.scan])
                bad.append(error)
            finally:
                con.execute(f"DROP TABLE IF EXISTS {STAGE}")
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_KEYS}")
    return bad


def _check_night_keys(con, staged: Staged, rules, scan: int) -> None:
    """Each file passed alone; a record key must not repeat one of an earlier file of the
    night either: refused at the repeat, naming the first."""
    key = quote(rules.key)
    clash = _first(con.execute(
        f"SELECT s.rowid, s.{key}, n.path, n.k FROM {STAGE} s JOIN {_KEYS} n "
        f"ON n.table_name = ? AND n.key = s.{key} ORDER BY s.rowid LIMIT 1", [rules.table]))
    if clash:
        first = Staged(Path(clash[2]), "release", 0, []).locate(clash[3])
        raise LoadError(str(staged.path), f"duplicate {rules.key} {clash[1]}: already on line "
                        f"{first} of {clash[2]}", line=staged.locate(clash[0]),
                        column=rules.key)
    con.execute(f"INSERT INTO {_KEYS} SELECT ?, {key}, ?, ?, rowid FROM {STAGE} "
                f"WHERE {key} IS NOT NULL", [rules.table, scan, str(staged.path)])


def _check_staged_belongs(con, staged, outcome: ScanOutcome,
                          manifest: delivery.Manifest) -> None:
    row = _first(con.execute(
        f"SELECT rowid, scan_key, date, hemis, scan FROM {STAGE} WHERE scan_key <> ? "
        f"OR date <> ? OR hemis <> ? OR scan <> ? ORDER BY rowid LIMIT 1",
        [outcome.scan_key, manifest.date, manifest.hemis, outcome.scan]))
    if row:
        raise LoadError(str(staged.path), f"row of scan {row[4]} (scan_key {row[1]}, "
                        f"{row[2]:%y%m%d}{row[3]}) in the file of scan {outcome.scan} "
                        f"(scan_key {outcome.scan_key})", line=staged.locate(row[0]),
                        column="scan_key")
    expected = delivery.coadd_key_sql("scan_key", "coadd")
    row = _first(con.execute(
        f"SELECT rowid, coadd_key, {expected}, coadd FROM {STAGE} "
        f"WHERE coadd_key IS DISTINCT FROM {expected} ORDER BY rowid LIMIT 1"))
    if row:
        raise LoadError(str(staged.path), f"coadd_key {row[1]} breaks the delivery rule "
                        f"coadd_key = {delivery.COADDS_PER_SCAN} × scan_key + coadd "
                        f"(coadd {row[3]}: {row[2]})", line=staged.locate(row[0]),
                        column="coadd_key")


def processing_order(paths: list[str | Path]) -> list[tuple[delivery.Manifest, Path]]:
    """The deliveries under ``paths`` with their manifests, in the order they load: by
    processing date, then version (a reprocessing follows the night it replaces)."""
    found = delivery.find_deliveries([Path(p) for p in paths])
    manifests = [(delivery.read_manifest(d), d) for d in found]
    manifests.sort(key=lambda md: (md[0].processed, delivery.version_key(md[0].version),
                                   md[0].date, md[0].hemis))
    return manifests


def load_nights(con: duckdb.DuckDBPyConnection, paths: list[str | Path], *,
                min_score: float = DEFAULT_MIN_SCORE, skip_bad_scans: bool = False,
                force: bool = False, progress: Progress | None = None,
                compression: dict | None = None, on_result=None) -> list[NightResult]:
    """Load night deliveries (directories, or directories holding them) in processing order:
    by processing date, then version, so a reprocessing follows the night it replaces.
    Stops at the first bad night; the nights before it stay loaded, each whole. After each
    night the sky cells it touched are settled (loaders/optimize.py), and at the end any
    an earlier, killed command left unsettled."""
    manifests = processing_order(paths)
    ensure_tiles(con)
    results: list[NightResult] = []
    try:
        for _, directory in manifests:
            result = load_night(con, directory, min_score=min_score,
                                skip_bad_scans=skip_bad_scans, force=force, progress=progress,
                                compression=compression)
            results.append(result)
            if on_result:
                on_result(result)
            finish_sorts(con, progress=progress)   # settle this night's sky cells
    finally:
        # also when nothing changed: a sort that an earlier, killed command left undone
        finish_sorts(con, progress=progress)
    return results
