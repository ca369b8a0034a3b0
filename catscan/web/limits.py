"""Every bound the server puts on a request, in one place: how big a request may be, how
long it may take, how many rows and values an answer may hold, how many connections are
served at once and how long a shutdown waits. ``catscan serve`` has a flag for each
(``--max-rows 200000``...); docs/web.md has the table (``limits_table()`` writes it).

The bounds are what keep one client from taking the server: a 10 MB query is refused
before it is parsed, a slow query, its encoding and its sending end at the timeout, a
client that goes away stops its query, and answers have a hard row cap."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field, fields

from ..db import MEMORY_SIZE
from ..errors import CatscanError

MiB = 1024 * 1024
M_ARENA_MAX = -8                     # glibc's mallopt parameter


def _limit(default, flag: str, text: str, metavar: str = "N"):
    return field(default=default, metadata={"flag": flag, "help": text, "metavar": metavar})


@dataclass(frozen=True)
class Limits:
    """The server's bounds (defaults for a 2-core machine serving a team and visitors)."""

    timeout_s: float = _limit(
        30.0, "--timeout", "seconds a whole request may take: waiting for a worker, "
        "translating, querying, encoding and sending the answer", "SECONDS")
    max_body_bytes: int = _limit(
        32 * MiB, "--max-body", "bytes of a request body (a form, TAP uploads together)",
        "BYTES")
    max_url_bytes: int = _limit(
        16 * 1024, "--max-url", "bytes of a URL's query string", "BYTES")
    max_params: int = _limit(
        100, "--max-params", "parameters in a query string, and fields in a form")
    max_query_chars: int = _limit(
        64 * 1024, "--max-query-chars", "characters of an ADQL or CatScan query text "
        "(checked before it is parsed)")
    max_upload_bytes: int = _limit(
        16 * MiB, "--max-upload", "bytes of one TAP upload", "BYTES")
    max_uploads: int = _limit(8, "--max-uploads", "TAP uploads in one request")
    max_upload_rows: int = _limit(100_000, "--max-upload-rows", "rows of one TAP upload")
    default_rows: int = _limit(
        100_000, "--default-rows", "rows of an answer when the client does not say (TAP "
        "MAXREC, cone searches, CatScan)")
    max_rows: int = _limit(
        1_000_000, "--max-rows", "rows of any answer, whatever the client asks (the hard "
        "cap: a longer result is cut and says so, QUERY_STATUS OVERFLOW)")
    max_fits_values: int = _limit(
        10_000_000, "--max-fits-values", "values (rows x columns) of a FITS answer, which is "
        "written whole (~0.6 us a value)")
    max_text_table_values: int = _limit(
        250_000, "--max-text-table-values", "values of an IPAC or ECSV download, which are "
        "written whole (~25 us a value)")
    max_connections: int = _limit(
        200, "--max-connections", "connections served at once; more get 503 at once")
    shutdown_grace_s: float = _limit(
        2.0, "--shutdown-grace", "seconds a shutdown (SIGTERM, Ctrl-C) lets running "
        "requests finish before it stops them", "SECONDS")
    malloc_arenas: int = _limit(
        2, "--malloc-arenas", "glibc malloc arenas of the server process (M_ARENA_MAX; "
        "glibc's default is 8 a core): each arena keeps the memory freed in it, and with the "
        "many threads of a busy server they made its memory grow without levelling off")
    async_jobs: int = _limit(
        1, "--async-jobs", "TAP async jobs run at once (more wait, QUEUED): each takes one "
        "of the query workers while it runs, so sync queries keep the others")
    max_jobs: int = _limit(
        100, "--max-jobs", "TAP async jobs one owner (the team, or visitors together) may "
        "hold at once, whatever their phase")
    max_job_bytes: int = _limit(
        1024 * MiB, "--max-job-bytes", "bytes of one owner's async jobs on disk (their "
        "uploads and results)", "BYTES")
    max_jobs_bytes: int = _limit(
        4096 * MiB, "--max-jobs-bytes", "bytes of every owner's async jobs on disk",
        "BYTES")
    job_lifetime_s: float = _limit(
        7 * 86400.0, "--job-lifetime", "seconds from its creation to an async job's "
        "destruction (its result and the job are deleted then); a client may ask for an "
        "earlier one, not a later one", "SECONDS")
    memory_limit: str = _limit(
        "1GB", "--memory-limit", "DuckDB's memory for the server's queries and its cache "
        "of the file's blocks (one for all workers)", "SIZE")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int | float) and not value > 0:
                raise CatscanError(f"{f.metadata['flag']} must be more than 0, not {value}")
        if not MEMORY_SIZE.match(self.memory_limit):
            raise CatscanError(f"--memory-limit {self.memory_limit!r}: give a size such as "
                               "1GB, 1.5GiB or 800MB")
        if self.default_rows > self.max_rows:
            object.__setattr__(self, "default_rows", self.max_rows)

    @property
    def max_field_bytes(self) -> int:
        """Bytes of a form field (not a file): a query text of ``max_query_chars``
        characters of up to 4 UTF-8 bytes each (the rest of a longer one is not parsed)."""
        return 4 * self.max_query_chars + 1024

    @property
    def slack_s(self) -> float:
        """How far past the timeout a request may run before it is cut off unfinished
        (work between two checks: a chunk of encoding, a cutout)."""
        return min(5.0, 1.0 + self.timeout_s / 10)

    def check_query(self, text: str, name: str = "the query") -> None:
        """Refuse a query text over ``max_query_chars`` before anything parses it."""
        if len(text) > self.max_query_chars:
            raise RequestTooLarge(
                f"{name} has {len(text):,} characters; this service accepts at most "
                f"{self.max_query_chars:,} (max_query_chars): send long lists as an upload")

    def field_too_large(self) -> RequestTooLarge:
        """The error for a form field cut off at ``max_field_bytes``."""
        return RequestTooLarge(
            f"a form field has more than {self.max_field_bytes:,} bytes; this service accepts "
            f"query texts of at most {self.max_query_chars:,} characters (max_query_chars): "
            "send long lists as an upload")

    def check_values(self, rows: int, columns: int, fmt: str) -> None:
        """Refuse an answer in a format written whole (FITS, IPAC, ECSV) above its bound."""
        bound = {"fits": self.max_fits_values, "ipac": self.max_text_table_values,
                 "ecsv": self.max_text_table_values}.get(fmt)
        if bound is not None and rows * columns > bound:
            name = "max_fits_values" if fmt == "fits" else "max_text_table_values"
            raise RequestTooLarge(
                f"the result has {rows:,} rows x {columns} columns = {rows * columns:,} "
                f"values; {fmt.upper()} answers are written whole and hold at most "
                f"{bound:,} ({name}): ask for fewer rows or columns, or a streamed format "
                "(VOTable, CSV, TSV, JSON)")


def bound_malloc_arenas(arenas: int) -> bool:
    """Cap glibc's malloc arenas for this process, before its threads start: whether it
    was done (not on glibc: nothing to do)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


class RequestTooLarge(CatscanError):
    """A request (or the answer it asks for) over one of the server's limits."""


def limits_table() -> str:
    """The Markdown table of the limits and their defaults (docs/web.md)."""
    lines = ["| limit | `catscan serve` flag | default | what |", "|---|---|---:|---|"]
    for f in fields(Limits):
        default = f.default
        if isinstance(default, int) and default >= MiB and default % MiB == 0:
            shown = f"{default // MiB} MiB"
        elif isinstance(default, int) and default >= 1024 and default % 1024 == 0 \
                and "bytes" in f.name:
            shown = f"{default // 1024} KiB"
        elif isinstance(default, int):
            shown = f"{default:,}"
        else:
            shown = f"{default:g} s" if isinstance(default, float) else str(default)
        lines.append(f"| `{f.name}` | `{f.metadata['flag']}` | {shown} | "
                     f"{f.metadata['help']} |")
    return "\n".join(lines) + "\n"
