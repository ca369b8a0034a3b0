"""The server soak (``python bench/serve.py --soak``): a loopback load for ``--minutes``
(default 30) with ``--clients`` threads (default 8) against ``catscan serve`` (2 workers,
a 30 s timeout) as a subprocess on a throwaway copy of the demo survey with Atlas Images
for one scan, with a team password.

Each client sends, with a seeded generator of its own, a mix of well-formed requests:
Simple Cone Search cones of 1' (40 %), TAP cones of 1' (25 %) and counts in a 3' box
(10 %) in the two dense fields, SODA cutouts of 1' around a random point of a random Atlas
Image (15 %); and abusive ones (10 %): 2 MB of ADQL (must be refused with 413), a client
that sends a query running for minutes and goes away after 0.3 s (its query must stop),
bad parameters (must get an error VOTable or a 400).

It prints, each minute, the requests, errors and p50/p99 latency of the well-formed
requests in that minute and the server's resident memory (VmRSS, from /proc), then the
totals and three checks: 0 errors for well-formed requests, p99 < 500 ms, and flat memory:
every minute after the reference minute (the 10th; in a run shorter than 20 minutes, the
middle one) within 10 % of it. The exit status is 1 when a check fails."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from catscan.db import connect
from catscan.web.access import set_password

P99_GOAL_MS, FLAT = 500.0, 0.10
LONG = ("SELECT COUNT(*) AS n FROM psc AS a, psc AS b "
        "WHERE MOD(a.pts_key + b.pts_key, 7) = 0")
HUGE = "SELECT designation FROM psc WHERE " + " OR ".join(f"j_m = {i}" for i in range(150_000))
MIX = (("scs", 40), ("tap cone", 25), ("tap count", 10), ("cutout", 15), ("abuse", 10))
ABUSES = ("huge text", "disconnect", "bad parameters")


@dataclass
class Tally:
    """What the clients saw, by minute (shared by the client threads, under ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[int, list[float]] = field(default_factory=dict)     # minute -> seconds
    kinds: dict[str, list[float]] = field(default_factory=dict)         # request -> seconds
    errors: dict[int, int] = field(default_factory=dict)
    abuse: dict[str, int] = field(default_factory=dict)                # outcome -> count
    examples: list[str] = field(default_factory=list)

    def ok(self, minute: int, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies.setdefault(minute, []).append(seconds)
            self.kinds.setdefault(kind, []).append(seconds)

    def error(self, minute: int, what: str) -> None:
        with self.lock:
            self.errors[minute] = self.errors.get(minute, 0) + 1
            if len(self.examples) < 10:
                self.examples.append(what)

    def abused(self, outcome: str) -> None:
        with self.lock:
            self.abuse[outcome] = self.abuse.get(outcome, 0) + 1


def images(db: Path) -> list[tuple[str, float, float, float]]:
    """(SODA ID, ra, dec, half-size in deg) of the survey's Atlas Images."""
    from catscan.web.sia import did

    con = connect(db)
    try:
        rows = con.execute("SELECT coadd_key, band, crval1, crval2, naxis1, naxis2, "
                           "abs(cdelt1) FROM atlas_images ORDER BY coadd_key, band").fetchall()
    finally:
        con.close()
    return [(did(key, band), ra, dec, min(n1, n2) * scale / 2)
            for key, band, ra, dec, n1, n2, scale in rows]


def requests(base: str, places, pictures) -> dict[str, Callable]:
    """name -> send(client, rng) -> (well_formed, response or None, outcome for abuse)."""
    from serve import TAP_CONE, TAP_COUNT

    def place(rng):
        return places[int(rng.integers(len(places)))]

    def scs(http, rng):
        ra, dec = place(rng)
        return http.get(f"{base}/scs/psc", params={"RA": ra, "DEC": dec, "SR": 1 / 60})

    def tap(query):
        def send(http, rng):
            ra, dec = place(rng)
            return http.post(f"{base}/tap/sync", data={
                "REQUEST": "doQuery", "LANG": "ADQL",
                "QUERY": query.format(ra=ra, dec=dec, r=1 / 60)})
        return send

    def cutout(http, rng):
        ident, ra, dec, half = pictures[int(rng.integers(len(pictures)))]
        dra, ddec = rng.uniform(-0.5, 0.5, 2) * half
        circle = f"{ra + dra / np.cos(np.radians(dec)):.6f} {dec + ddec:.6f} {1 / 60:.6f}"
        return http.get(f"{base}/soda/sync", params={"ID": ident, "CIRCLE": circle})

    return {"scs": scs, "tap cone": tap(TAP_CONE), "tap count": tap(TAP_COUNT),
            "cutout": cutout}


def abuse(base: str, http: httpx.Client, rng) -> str:
    """One abusive request: the outcome seen ("... as expected" or what went wrong)."""
    kind = ABUSES[int(rng.integers(len(ABUSES)))]
    if kind == "huge text":
        got = http.post(f"{base}/tap/sync", data={"LANG": "ADQL", "QUERY": HUGE})
        return f"huge text: {'413 as expected' if got.status_code == 413 else got.status_code}"
    if kind == "disconnect":
        try:
            with httpx.Client(auth=http.auth, timeout=0.3) as once:
                once.post(f"{base}/tap/sync", data={"LANG": "ADQL", "QUERY": LONG})
        except httpx.TimeoutException:
            return "disconnect: gone after 0.3 s as expected"
        return "disconnect: answered within 0.3 s"
    bad = [lambda: http.get(f"{base}/scs/psc", params={"RA": "ten", "DEC": "41", "SR": "0.1"}),
           lambda: http.post(f"{base}/tap/sync", data={"LANG": "ADQL", "QUERY": "SELECT 1",
                                                       "MAXREC": "many"}),
           lambda: http.get(f"{base}/soda/sync", params={"ID": "ivo://elsewhere/x"}),
           lambda: http.get(f"{base}/sia/query", params={"POS": "CIRCLE 10 forty 1"})]
    got = bad[int(rng.integers(len(bad)))]()
    refused = got.status_code in (400, 404) or b'value="ERROR"' in got.content
    return "bad parameters: refused as expected" if refused else \
        f"bad parameters: {got.status_code}"


def client(i: int, base: str, auth, stop: float, started: float, kinds: dict, tally: Tally,
           seed: int) -> None:
    rng = np.random.default_rng([seed, i])
    names = [name for name, _ in MIX]
    weights = np.array([w for _, w in MIX], dtype=float)
    weights /= weights.sum()
    with httpx.Client(auth=auth, timeout=60) as http:
        while time.monotonic() < stop:
            name = names[int(rng.choice(len(names), p=weights))]
            minute = int((time.monotonic() - started) // 60)
            if name == "abuse":
                try:
                    tally.abused(abuse(base, http, rng))
                except httpx.HTTPError as exc:
                    tally.abused(f"abuse: {type(exc).__name__}")
                continue
            begun = time.perf_counter()
            try:
                got = kinds[name](http, rng)
            except httpx.HTTPError as exc:
                tally.error(minute, f"{name}: {type(exc).__name__}: {exc}")
                continue
            took = time.perf_counter() - begun
            if got.status_code != 200 or b'value="ERROR"' in got.content[-2000:]:
                tally.error(minute, f"{name}: HTTP {got.status_code} {got.text[:300]!r}")
            else:
                tally.ok(minute, name, took)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def quantile_ms(times: list[float], q: float) -> float:
    if not times:
        return float("nan")
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3


def flat(rss: list[float], minutes: int) -> tuple[int, bool]:
    """(the reference minute, whether every later minute is within FLAT of it)."""
    reference = 10 if minutes >= 20 else max(1, minutes // 2)
    base = rss[reference - 1]
    return reference, all(abs(r - base) <= FLAT * base for r in rss[reference:])


def soak(minutes: float, clients: int, workdir: Path, seed: int = 1998) -> int:
    from serve import PASSWORD, demo_database, free_port, positions, start_server

    source = demo_database(workdir / "soak", image_scans=1)
    with tempfile.TemporaryDirectory(prefix="catscan-soak-") as tmp:
        db = Path(tmp) / "catscan.duckdb"
        shutil.copy(source, db)
        con = connect(db, read_only=False)
        try:
            set_password(con, PASSWORD)
        finally:
            con.close()
        pictures = images(db)
        port = free_port()
        server = start_server(db, port, Path(tmp) / "serve.log")
        base = f"http://127.0.0.1:{port}"
        tally, rss = Tally(), []
        print(f"soak: catscan serve (2 workers, timeout 30 s) on the demo survey, {clients} "
              f"clients on loopback for {minutes:g} min; server RSS at start "
              f"{rss_mb(server.pid):.0f} MB\n")
        print(f"{'minute':>6} {'requests':>8} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'RSS MB':>7}")
        try:
            started = time.monotonic()
            stop = started + minutes * 60
            kinds = requests(base, positions(1000), pictures)
            threads = [threading.Thread(target=client, args=(
                i, base, ("team", PASSWORD), stop, started, kinds, tally, seed), daemon=True)
                for i in range(clients)]
            for t in threads:
                t.start()
            for minute in range(1, int(np.ceil(minutes)) + 1):
                time.sleep(max(0.0, started + minute * 60 - time.monotonic()))
                rss.append(rss_mb(server.pid))
                with tally.lock:
                    times = list(tally.latencies.get(minute - 1, []))
                    errors = tally.errors.get(minute - 1, 0)
                print(f"{minute:>6} {len(times):>8} {errors:>6} {quantile_ms(times, 0.5):>7.1f} "
                      f"{quantile_ms(times, 0.99):>7.1f} {rss[-1]:>7.0f}", flush=True)
            for t in threads:
                t.join(timeout=120)
        finally:
            server.terminate()
            server.wait(timeout=30)
        log = (Path(tmp) / "serve.log").read_text(errors="replace")
    everything = [t for per in tally.latencies.values() for t in per]
    errors = sum(tally.errors.values())
    p99 = quantile_ms(everything, 0.99)
    reference, level = flat(rss, len(rss))
    print(f"\nwell-formed requests: {len(everything) + errors}, errors {errors}, p50 "
          f"{quantile_ms(everything, 0.5):.1f} ms, p99 {p99:.1f} ms (goal < {P99_GOAL_MS:g})")
    print("by request: " + ", ".join(
        f"{kind} {len(times)} p50 {quantile_ms(times, 0.5):.0f} p99 "
        f"{quantile_ms(times, 0.99):.0f} ms" for kind, times in sorted(tally.kinds.items())))
    print("abusive requests: " + ", ".join(f"{n} {what}" for what, n in
                                            sorted(tally.abuse.items())))
    print(f"RSS: {rss[0]:.0f} MB after minute 1, {rss[reference - 1]:.0f} MB after minute "
          f"{reference} (the reference), {min(rss[reference:], default=rss[-1]):.0f}-"
          f"{max(rss[reference:], default=rss[-1]):.0f} MB after: "
          f"{'flat' if level else 'NOT flat'} (within {FLAT:.0%})")
    for example in tally.examples:
        print("  error:", example)
    tracebacks = log.count("Traceback")
    if tracebacks:
        first = log.index("Traceback")
        print(f"the server log holds {tracebacks} traceback(s); the first:\n"
              f"{log[max(0, first - 300):first + 3000]}")
    ok = errors == 0 and p99 < P99_GOAL_MS and level and not tracebacks and all(
        "as expected" in what for what in tally.abuse)
    print("soak:", "passed" if ok else "FAILED")
    return 0 if ok else 1
