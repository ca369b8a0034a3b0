"""Stored Atlas Images: the schema step keeps the blobs (now stored uncompressed, so one
read does not decompress its neighbours), sections equal the whole decompressed image,
blank pixels come back, and concurrent reads (DuckDB threads) stay correct."""

from __future__ import annotations

import threading

import duckdb
import numpy as np
import pyarrow as pa

from catscan.db import connect, init_database, schema_files
from catscan.images.store import DECODE_LOCK, StoredImage, open_image
from catscan.loaders.images import decompress


def blobs(image_db, limit: int = 3) -> list[tuple[int, str, bytes]]:
    con = connect(image_db)
    try:
        return con.execute("SELECT coadd_key, band, fits FROM atlas_images ORDER BY "
                           "coadd_key, band LIMIT ?", [limit]).fetchall()
    finally:
        con.close()


def test_upgrade_keeps_the_images_and_stores_them_uncompressed(image_db, tmp_path):
    rows = blobs(image_db)
    path = tmp_path / "old.duckdb"
    raw = duckdb.connect(str(path))
    try:                                           # a database at the schema before images
        for step in schema_files():
            if step.name >= "110":
                break
            raw.execute(step.sql)
            raw.execute("INSERT INTO schema_version (version, name, catscan_version) "
                        "VALUES (?, ?, 'test')", [step.version, step.name])
        raw.register("rows_in", pa.table({"coadd_key": [r[0] for r in rows],
                                          "band": [r[1] for r in rows],
                                          "fits": [r[2] for r in rows]}))
        raw.execute("INSERT INTO atlas_images (coadd_key, band, fits) "
                    "SELECT coadd_key, band, fits FROM rows_in")
        raw.execute("CHECKPOINT")
    finally:
        raw.close()
    _, applied = init_database(path)
    assert applied[0] == "110_images.sql"
    con = connect(path)
    try:
        after = con.execute("SELECT coadd_key, band, fits FROM atlas_images ORDER BY "
                            "coadd_key, band").fetchall()
        assert after == rows
        names = [r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'atlas_images' "
            "ORDER BY column_index").fetchall()]
        assert names[-1] == "fits" and names.count("fits") == 1
    finally:
        con.close()
    con = connect(image_db)
    try:
        kinds = {r[0] for r in con.execute(
            "SELECT compression FROM pragma_storage_info('atlas_images') "
            "WHERE column_name = 'fits' AND segment_type = 'BLOB'").fetchall()}
        assert kinds == {"Uncompressed"}
    finally:
        con.close()


def test_sections_equal_the_decompressed_image(image_db):
    for _, _, blob in blobs(image_db):
        header, full = decompress(blob)
        image = StoredImage(blob)
        assert image.shape == full.shape and image.magzp == header["MAGZP"]
        for y0, y1, x0, x1 in ((0, 300, 0, 300), (100, 450, 250, 512), (-20, 40, 500, 530),
                               (1000, 1100, 3, 9), (600, 600, 0, 10)):
            section = image.section(y0, y1, x0, x1)
            expected = full[max(y0, 0):min(y1, 1024), max(x0, 0):min(x1, 512)]
            assert np.array_equal(section, expected, equal_nan=True)
        assert np.isnan(image.section(0, 10, 0, 512)).sum() == 80      # 8 blank columns
    first = blobs(image_db, 1)[0][2]
    assert open_image(first) is open_image(bytes(first))              # cached by content


def test_concurrent_reads_are_serialised(image_db):
    """astropy's HCOMPRESS decoder fails when two threads decode at once; the lock makes
    concurrent sections (as DuckDB's threads would ask for them) come out right."""
    images = [StoredImage(b) for _, _, b in blobs(image_db)]
    expected = [decompress(b)[1][200:500, 100:400] for _, _, b in blobs(image_db)]
    errors: list[str] = []

    def work(i: int) -> None:
        for _ in range(5):
            got = images[i % 3].section(200, 500, 100, 400)
            if not np.array_equal(got, expected[i % 3], equal_nan=True):
                errors.append(f"thread {i}: wrong pixels")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and not DECODE_LOCK.locked()
