"""TAP async (UWS 1.1, catscan.web.uws) through real clients: pyvo's run_async and
submit_job give what run_sync gives, every UWS resource and phase change answers as UWS 1.1
says (raw httpx), WAIT blocks until the phase changes, uploads work in async mode, jobs
survive a restart of the real server process, destruction removes the files, the per-owner
limits refuse clearly, a visitor never sees a team job, and STILTS (async by default) reads
its results."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from astropy.io.votable import parse_single_table
from astropy.table import Table

import catscan
from catscan.web.limits import Limits

from conftest import TEAM_PASSWORD

pyvo = pytest.importorskip("pyvo")
NS = {"uws": "http://www.ivoa.net/xml/UWS/v1.0", "xlink": "http://www.w3.org/1999/xlink"}
M31 = (10.68479, 41.26906)
CONE = ("SELECT designation, ra, dec, j_m FROM psc WHERE CONTAINS(POINT('ICRS', ra, dec), "
        "CIRCLE('ICRS', {}, {}, {})) = 1 ORDER BY designation")
LONG = ("SELECT COUNT(*) AS n FROM psc AS a, psc AS b WHERE MOD(a.pts_key + b.pts_key, 7) = 0 "
        "AND a.j_m + b.j_m > 0")
PASSWORD = "stilts-team-pw1"          # no blank: STILTS takes it in a -D option
RELEASED = "1997-10-24n"
TEAM = ("team", TEAM_PASSWORD)


@pytest.fixture(scope="module")
def uws_server(web_db, tmp_path_factory):
    from webserver import running_server

    jobs = tmp_path_factory.mktemp("uws") / "jobs"
    with running_server(web_db, timeout=10.0, uws_dir=jobs) as url:
        yield url, jobs


@pytest.fixture(scope="module")
def tap(uws_server, vo_session):
    return pyvo.dal.TAPService(f"{uws_server[0]}/tap", session=vo_session)


@pytest.fixture(scope="module")
def released_db(web_db, tmp_path_factory):
    """A copy of the web database with RELEASED public and the team password PASSWORD."""
    from webserver import copy_with_password

    path = copy_with_password(web_db, tmp_path_factory.mktemp("uws-released"), PASSWORD)
    done = subprocess.run([sys.executable, "-m", "catscan.cli", "release", RELEASED, "--db",
                           str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return path


def xml(response: httpx.Response) -> ET.Element:
    assert response.status_code == 200, response.text
    return ET.fromstring(response.content)


def text_of(root: ET.Element, tag: str) -> str | None:
    found = root.find(f"uws:{tag}", NS)
    return None if found is None else found.text


def create(client: httpx.Client, base: str, **params) -> str:
    """POST /tap/async: the job's URL (from the 303)."""
    answer = client.post(f"{base}/tap/async", data={"LANG": "ADQL", **params})
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


def wait_final(client: httpx.Client, job: str, seconds: float = 60) -> ET.Element:
    deadline = time.monotonic() + seconds
    while True:
        root = xml(client.get(job, params={"WAIT": "5"}))
        if text_of(root, "phase") in ("COMPLETED", "ERROR", "ABORTED"):
            return root
        assert time.monotonic() < deadline, text_of(root, "phase")


def wait_phase(client: httpx.Client, job: str, phase: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while client.get(f"{job}/phase").text != phase:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def rows(content: bytes) -> Table:
    return parse_single_table(io.BytesIO(content)).to_table()


# ---- pyvo -----------------------------------------------------------------------------------

def test_pyvo_run_async_equals_run_sync_with_and_without_uploads(tap, web_db, uws_server):
    query = CONE.format(*M31, 0.05)
    synced, done = tap.run_sync(query).to_table(), tap.run_async(query).to_table()
    assert len(synced) > 5 and list(done["designation"]) == list(synced["designation"])
    assert np.array_equal(done["j_m"], synced["j_m"]) and done["ra"].unit == "deg"
    cli = catscan.query(f"select designation from psc within 0.05 deg of {M31[0]} {M31[1]} "
                        "order by designation", web_db)
    assert list(done["designation"]) == [str(d).rstrip() for d in cli["designation"]]
    targets = Table({"ra": synced["ra"][:4] + 0.3 / 3600, "dec": synced["dec"][:4],
                     "name": ["a", "b", "c", "d"]})
    match = ("SELECT u.name, p.designation FROM TAP_UPLOAD.targets AS u JOIN psc AS p ON "
             "CONTAINS(POINT('ICRS', p.ra, p.dec), CIRCLE('ICRS', u.ra, u.dec, 1.0 / 3600)) = 1 "
             "ORDER BY u.name")
    by_sync = tap.run_sync(match, uploads={"targets": targets}).to_table()
    by_async = tap.run_async(match, uploads={"targets": targets}).to_table()
    assert list(by_async["name"]) == ["a", "b", "c", "d"]
    assert list(by_async["designation"]) == list(by_sync["designation"]) == \
        list(synced["designation"][:4])
    # run_async deletes its jobs: nothing is left of them on disk
    assert not [p for p in uws_server[1].iterdir() if p.is_dir()]


def test_pyvo_submit_run_wait_fetch_and_delete(tap, uws_server):
    job = tap.submit_job(CONE.format(*M31, 0.03), maxrec=3)
    assert job.phase == "PENDING" and job.owner == "team"
    assert job.query == CONE.format(*M31, 0.03) and job.uws_version == "1.1"
    assert job.execution_duration.sec == 10                  # the server's timeout
    lifetime = job.destruction.to_datetime(timezone=UTC) - datetime.now(UTC)
    assert timedelta(days=6, hours=23) < lifetime <= timedelta(days=7)
    job.run().wait()
    assert job.phase == "COMPLETED"
    result = job.fetch_result()
    assert len(result) == 3 and result.query_status == "OVERFLOW"
    whole = tap.run_sync(CONE.format(*M31, 0.03)).to_table()
    assert list(result.to_table()["designation"]) == list(whole["designation"][:3])
    folder = uws_server[1] / job.job_id
    assert (folder / "result.vot").is_file() and (folder / "job.json").is_file()
    assert oct(os.stat(uws_server[1]).st_mode & 0o777) == "0o700"
    job.delete()
    assert not folder.exists()
    with httpx.Client(auth=TEAM) as client:
        assert client.get(f"{uws_server[0]}/tap/async/{job.job_id}").status_code == 404


def test_pyvo_abort_stops_a_long_job_and_the_next_one_runs(tap, uws_server):
    job = tap.submit_job(LONG)
    job.run()
    job.wait(phases=["EXECUTING"], timeout=30)
    job.abort()
    assert job.phase == "ABORTED"
    with httpx.Client(auth=TEAM) as client:
        root = xml(client.get(job.url))
    started = datetime.fromisoformat(text_of(root, "startTime"))
    ended = datetime.fromisoformat(text_of(root, "endTime"))
    assert (ended - started).total_seconds() < 10            # before its executionDuration
    assert root.find("uws:results/uws:result", NS) is None
    # the worker is free again: the next job runs to its end
    small = tap.run_async("SELECT TOP 2 tile FROM tiles ORDER BY tile").to_table()
    assert len(small) == 2
    job.delete()


# ---- raw UWS --------------------------------------------------------------------------------

def test_every_uws_resource_and_phase_change(uws_server):
    base = uws_server[0]
    with httpx.Client(auth=TEAM, timeout=30) as client:
        job = create(client, base, QUERY=CONE.format(*M31, 0.05), RUNID="mine")
        job_id = job.rsplit("/", 1)[1]
        assert len(job_id) >= 20
        root = xml(client.get(job))
        assert root.tag == f"{{{NS['uws']}}}job" and root.get("version") == "1.1"
        assert text_of(root, "phase") == "PENDING" and text_of(root, "runId") == "mine"
        assert text_of(root, "ownerId") == "team" and text_of(root, "jobId") == job_id
        params = {p.get("id"): p.text for p in root.find("uws:parameters", NS)}
        assert params["QUERY"] == CONE.format(*M31, 0.05) and params["LANG"] == "ADQL"
        assert client.get(f"{job}/phase").text == "PENDING"
        assert client.get(f"{job}/owner").text == "team"
        assert client.get(f"{job}/executionduration").text == "10"
        for value, expected in (("5", "5"), ("999", "10")):
            moved = client.post(f"{job}/executionduration", data={"EXECUTIONDURATION": value})
            assert moved.status_code == 303 and moved.headers["location"] == job
            assert client.get(f"{job}/executionduration").text == expected
        soon = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
        client.post(f"{job}/destruction", data={"DESTRUCTION": soon.isoformat()})
        assert datetime.fromisoformat(client.get(f"{job}/destruction").text) == soon
        late = datetime.now(UTC) + timedelta(days=30)
        client.post(f"{job}/destruction", data={"DESTRUCTION": late.isoformat()})
        kept = datetime.fromisoformat(client.get(f"{job}/destruction").text)
        assert kept < datetime.now(UTC) + timedelta(days=7, minutes=1)   # the lifetime's cap
        quote = datetime.fromisoformat(client.get(f"{job}/quote").text)
        assert datetime.now(UTC) < quote <= datetime.now(UTC) + timedelta(seconds=30)
        changed = client.post(f"{job}/parameters", data={"MAXREC": "4"})
        assert changed.status_code == 303
        params = {p.get("id"): p.text for p in xml(client.get(f"{job}/parameters"))}
        assert params["MAXREC"] == "4"
        assert xml(client.get(f"{job}/results")).findall("uws:result", NS) == []
        assert client.get(f"{job}/results/result").status_code == 404
        assert client.get(f"{job}/error").status_code == 404
        ran = client.post(f"{job}/phase", data={"PHASE": "RUN"})
        assert ran.status_code == 303 and ran.headers["location"] == job
        root = wait_final(client, job)
        assert text_of(root, "phase") == "COMPLETED" and text_of(root, "startTime")
        [ref] = root.findall("uws:results/uws:result", NS)
        assert ref.get("id") == "result" and ref.get(f"{{{NS['xlink']}}}href") == \
            f"{job}/results/result"
        answer = client.get(f"{job}/results/result")
        assert answer.headers["content-type"] == "application/x-votable+xml"
        assert int(ref.get("size")) == len(answer.content)
        table = parse_single_table(io.BytesIO(answer.content))
        synced = client.post(f"{base}/tap/sync", data={
            "LANG": "ADQL", "MAXREC": "4", "QUERY": CONE.format(*M31, 0.05)})
        assert list(table.to_table()["designation"]) == \
            list(rows(synced.content)["designation"]) and len(table.array) == 4
        assert b'name="QUERY_STATUS" value="OVERFLOW"' in answer.content
        again = client.post(f"{job}/phase", data={"PHASE": "RUN"})
        assert again.status_code == 400 and b"only a PENDING job can be run" in again.content
        # the job list and its filters
        listed = xml(client.get(f"{base}/tap/async"))
        assert listed.tag == f"{{{NS['uws']}}}jobs"
        refs = {r.get("id"): r for r in listed.findall("uws:jobref", NS)}
        assert text_of(refs[job_id], "phase") == "COMPLETED"
        other = create(client, base, QUERY="SELECT TOP 1 tile FROM tiles")
        other_id = other.rsplit("/", 1)[1]
        ids = [r.get("id") for r in xml(client.get(f"{base}/tap/async",
                                                   params={"PHASE": "PENDING"}))]
        assert other_id in ids and job_id not in ids
        assert [r.get("id") for r in xml(client.get(f"{base}/tap/async",
                                                    params={"LAST": "1"}))] == [other_id]
        created = text_of(xml(client.get(job)), "creationTime")
        after = [r.get("id") for r in xml(client.get(f"{base}/tap/async",
                                                     params={"AFTER": created}))]
        assert other_id in after and job_id not in after
        # ABORT of a pending job, then DELETE and ACTION=DELETE: 303 to the list
        client.post(f"{other}/phase", data={"PHASE": "ABORT"})
        assert client.get(f"{other}/phase").text == "ABORTED"
        gone = client.delete(other)
        assert gone.status_code == 303 and gone.headers["location"] == f"{base}/tap/async"
        gone = client.post(job, data={"ACTION": "DELETE"})
        assert gone.status_code == 303 and gone.headers["location"] == f"{base}/tap/async"
        for url in (job, other, f"{job}/results/result"):
            assert client.get(url).status_code == 404
        assert not (uws_server[1] / job_id).exists()


def test_a_failing_job_has_the_sync_error_message(uws_server):
    base = uws_server[0]
    query = "SELECT ra FROM psc WHERE INTERSECTS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 1, " \
            "2, 3)) = 1"
    with httpx.Client(auth=TEAM, timeout=30) as client:
        synced = client.post(f"{base}/tap/sync", data={"LANG": "ADQL", "QUERY": query})
        message = rows_error(synced.content)
        assert synced.status_code == 400 and "INTERSECTS is not supported" in message
        job = create(client, base, QUERY=query, PHASE="RUN")
        root = wait_final(client, job)
        assert text_of(root, "phase") == "ERROR"
        summary = root.find("uws:errorSummary", NS)
        assert summary.get("type") == "fatal" and summary.find("uws:message", NS).text == message
        error = client.get(f"{job}/error")
        assert error.status_code == 200 and rows_error(error.content) == message
        # a query that cannot run still makes a job (TAP 1.1), which ends in ERROR saying why
        for params, words in (({"QUERY": "SELECT 1", "LANG": "SQL"}, "unknown query language"),
                              ({"LANG": "ADQL"}, "QUERY is required")):
            bad = create(client, base, **params, PHASE="RUN")
            assert text_of(wait_final(client, bad), "phase") == "ERROR"
            assert words in rows_error(client.get(f"{bad}/error").content)
            client.delete(bad)
        refused = client.post(f"{base}/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT 1",
                                                         "PHASE": "ABORT"})
        assert refused.status_code == 400 and "only PHASE=RUN" in rows_error(refused.content)
        long_text = "SELECT ra FROM psc WHERE " + " OR ".join(["ra = 1"] * 12_000)
        too_long = client.post(f"{base}/tap/async", data={"LANG": "ADQL", "QUERY": long_text})
        assert too_long.status_code == 413 and "max_query_chars" in rows_error(too_long.content)
        client.delete(job)


def rows_error(content: bytes) -> str:
    root = ET.fromstring(content)
    [info] = [e for e in root.iter() if e.tag.endswith("INFO") and
              e.get("name") == "QUERY_STATUS"]
    assert info.get("value") == "ERROR"
    return info.text


def test_wait_blocks_until_the_phase_changes(uws_server):
    base = uws_server[0]
    with httpx.Client(auth=TEAM, timeout=30) as client:
        job = create(client, base, QUERY="SELECT TOP 3 tile FROM tiles")
        runner = threading.Timer(0.5, lambda: httpx.post(f"{job}/phase", auth=TEAM,
                                                         data={"PHASE": "RUN"}))
        runner.start()
        # PENDING when asked, and RUN only posted later: a WAIT answering at once says PENDING
        woke = text_of(xml(client.get(job, params={"WAIT": "8"})), "phase")
        runner.join()
        assert woke in ("QUEUED", "EXECUTING", "COMPLETED")
        assert text_of(wait_final(client, job), "phase") == "COMPLETED"
        # a final phase, or PHASE naming another phase: answered at once
        assert text_of(xml(client.get(job, params={"WAIT": "-1"})), "phase") == "COMPLETED"
        pending = create(client, base, QUERY="SELECT TOP 3 tile FROM tiles")
        asked = client.get(pending, params={"WAIT": "8", "PHASE": "EXECUTING"})
        assert text_of(xml(asked), "phase") == "PENDING"
        assert client.get(job, params={"WAIT": "soon"}).status_code == 400
        client.delete(job)
        client.delete(pending)


def near_m31(db) -> int:
    """The psc sources within 0.02 deg of M31, by the CLI."""
    return int(catscan.query(f"select count(*) as n from psc within 0.02 deg of {M31[0]} "
                             f"{M31[1]}", db)["n"][0])


def test_raw_upload_in_async_mode_equals_sync(uws_server, tmp_path, web_db):
    base = uws_server[0]
    targets = Table({"ra": [M31[0], 100.0], "dec": [M31[1], 0.0], "id": [1, 2]})
    vot = tmp_path / "t.vot"
    targets.write(vot, format="votable")
    query = ("SELECT u.id, COUNT(p.pts_key) AS n FROM TAP_UPLOAD.mine AS u LEFT JOIN psc AS p "
             "ON CONTAINS(POINT('ICRS', p.ra, p.dec), CIRCLE('ICRS', u.ra, u.dec, 0.02)) = 1 "
             "GROUP BY u.id ORDER BY u.id")
    form = {"LANG": "ADQL", "QUERY": query, "UPLOAD": "mine,param:part1",
            "RESPONSEFORMAT": "csv"}
    with httpx.Client(auth=TEAM, timeout=30) as client:
        synced = client.post(f"{base}/tap/sync", data=form,
                             files={"part1": vot.read_bytes()})
        made = client.post(f"{base}/tap/async", data={**form, "PHASE": "RUN"},
                           files={"part1": vot.read_bytes()})
        assert made.status_code == 303
        job = made.headers["location"]
        assert text_of(wait_final(client, job), "phase") == "COMPLETED"
        answer = client.get(f"{job}/results/result")
        assert answer.headers["content-type"].startswith("text/csv")
        assert answer.content == synced.content and answer.text.splitlines()[2] == "2,0"
        assert answer.text.splitlines()[1] == f"1,{near_m31(web_db)}" and near_m31(web_db) > 2
        folder = uws_server[1] / job.rsplit("/", 1)[1]
        assert (folder / "upload-mine.vot").read_bytes() == vot.read_bytes()
        client.delete(job)


def test_destruction_removes_the_job_and_its_files(uws_server):
    base = uws_server[0]
    with httpx.Client(auth=TEAM, timeout=30) as client:
        job = create(client, base, QUERY="SELECT TOP 3 tile FROM tiles", PHASE="RUN")
        wait_final(client, job)
        folder = uws_server[1] / job.rsplit("/", 1)[1]
        assert (folder / "result.vot").is_file()
        moment = datetime.now(UTC) + timedelta(seconds=1)
        client.post(f"{job}/destruction", data={"DESTRUCTION": moment.isoformat()})
        deadline = time.monotonic() + 20
        while client.get(job).status_code != 404:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert not folder.exists()
        assert job.rsplit("/", 1)[1] not in client.get(f"{base}/tap/async").text


# ---- limits ---------------------------------------------------------------------------------

def test_limits_refuse_new_jobs_and_big_results(web_db, tmp_path):
    from webserver import running_server

    limits = Limits(timeout_s=10.0, max_jobs=2, max_job_bytes=60_000)
    with running_server(web_db, limits=limits, uws_dir=tmp_path / "jobs") as base, \
            httpx.Client(auth=TEAM, timeout=30) as client:
        first = create(client, base, QUERY="SELECT TOP 3 tile FROM tiles", PHASE="RUN")
        big = create(client, base, QUERY="SELECT * FROM psc", MAXREC="5000", PHASE="RUN")
        refused = client.post(f"{base}/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT 1"})
        assert refused.status_code == 403
        assert "team holds 2 async jobs, this service's limit (max_jobs)" in \
            rows_error(refused.content)
        root = wait_final(client, big)
        assert text_of(root, "phase") == "ERROR"
        message = client.get(f"{big}/error")
        assert "the result is larger than the" in rows_error(message.content)
        assert "bytes left to this owner's async jobs (max_job_bytes" in \
            rows_error(message.content)
        assert [p.name for p in (tmp_path / "jobs" / big.rsplit("/", 1)[1]).iterdir()] == \
            ["job.json"]                         # the cut result is not left on disk
        client.delete(big)
        wait_final(client, first)
        upload = Table({"x": np.arange(20_000, dtype=float)})
        data = io.BytesIO()
        upload.write(data, format="votable")
        too_big = client.post(f"{base}/tap/async", data={
            "LANG": "ADQL", "QUERY": "SELECT COUNT(*) FROM TAP_UPLOAD.t",
            "UPLOAD": "t,param:t"}, files={"t": data.getvalue()})
        assert too_big.status_code == 403 and "max_job_bytes" in rows_error(too_big.content)
        assert len(xml(client.get(f"{base}/tap/async"))) == 1


# ---- visitors, restarts, STILTS -------------------------------------------------------------

def test_a_visitor_never_sees_a_team_job(released_db, tmp_path):
    from webserver import running_server

    with running_server(released_db, timeout=10.0, uws_dir=tmp_path / "jobs") as base, \
            httpx.Client(auth=("team", PASSWORD), timeout=30) as team, \
            httpx.Client(timeout=30) as visitor:
        job = create(team, base, QUERY="SELECT COUNT(*) AS n FROM psc", PHASE="RUN")
        wait_final(team, job)
        for url in (job, f"{job}/phase", f"{job}/results/result", f"{job}/parameters",
                    f"{job}/error", f"{job}/owner"):
            assert visitor.get(url).status_code == 404, url
        assert visitor.delete(job).status_code == 404
        assert visitor.post(f"{job}/phase", data={"PHASE": "ABORT"}).status_code == 404
        assert xml(visitor.get(f"{base}/tap/async")).findall("uws:jobref", NS) == []
        assert team.get(f"{job}/phase").text == "COMPLETED"
        mine = create(visitor, base, QUERY="SELECT COUNT(*) AS n FROM psc", PHASE="RUN")
        assert text_of(wait_final(visitor, mine), "phase") == "COMPLETED"
        assert visitor.get(f"{mine}/owner").text == "anonymous"
        assert team.get(mine).status_code == 404
        every = int(catscan.query("select count(*) as n from psc", released_db)["n"][0])
        public = int(catscan.query(f"select count(*) as n from psc on night "
                                   f"{RELEASED[:-1]} {RELEASED[-1]}", released_db)["n"][0])
        assert int(rows(team.get(f"{job}/results/result").content)["n"][0]) == every
        assert int(rows(visitor.get(f"{mine}/results/result").content)["n"][0]) == public
        assert 0 < public < every


def test_jobs_survive_a_restart_of_the_server_process(released_db):
    from webserver import serve_process

    auth = ("team", PASSWORD)
    with serve_process(released_db, "--timeout", "30") as (process, base), \
            httpx.Client(auth=auth, timeout=30) as client:
        done = create(client, base, QUERY=CONE.format(*M31, 0.05), PHASE="RUN")
        wait_final(client, done)
        result = client.get(f"{done}/results/result").content
        pending = create(client, base, QUERY="SELECT TOP 2 tile FROM tiles ORDER BY tile")
        running = create(client, base, QUERY=LONG, PHASE="RUN")
        wait_phase(client, running, "EXECUTING")
        queued = create(client, base, QUERY="SELECT TOP 3 tile FROM tiles ORDER BY tile",
                        PHASE="RUN")
        assert client.get(f"{queued}/phase").text == "QUEUED"      # one job at a time
        os.kill(process.pid, signal.SIGKILL)                       # the server dies
        process.wait()
    with serve_process(released_db, "--timeout", "30") as (process, again), \
            httpx.Client(auth=auth, timeout=30) as client:
        assert again != base

        def moved(url: str) -> str:
            return url.replace(base, again)

        assert client.get(f"{moved(done)}/phase").text == "COMPLETED"
        assert client.get(f"{moved(done)}/results/result").content == result
        assert client.get(f"{moved(pending)}/phase").text == "PENDING"
        root = xml(client.get(moved(running)))
        assert text_of(root, "phase") == "ERROR"
        assert "the server stopped while this job was running" in \
            root.find("uws:errorSummary/uws:message", NS).text
        assert text_of(wait_final(client, moved(queued)), "phase") == "COMPLETED"
        assert len(rows(client.get(f"{moved(queued)}/results/result").content)) == 3
        client.post(f"{moved(pending)}/phase", data={"PHASE": "RUN"})
        assert text_of(wait_final(client, moved(pending)), "phase") == "COMPLETED"
        # a clean stop (SIGTERM) while a job runs: it ends as ERROR, saying why
        running = create(client, again, QUERY=LONG, PHASE="RUN")
        wait_phase(client, running, "EXECUTING")
    jobs = Path(f"{released_db}.jobs")
    stopped = [p for p in jobs.iterdir() if (p / "job.json").read_text().count('"ERROR"')
               and "shut down" in (p / "job.json").read_text()]
    assert len(stopped) == 1


STILTS = shutil.which("stilts")


@pytest.mark.skipif(STILTS is None, reason="stilts is not on PATH")
def test_stilts_tapquery_async_with_and_without_an_upload(released_db, tmp_path):
    from webserver import running_server

    def stilts(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["nice", "-n", "19", STILTS, "-Dstar.basicauth.user=team",
                               f"-Dstar.basicauth.password={PASSWORD}", "tapquery", *args],
                              capture_output=True, text=True, timeout=300)

    query = CONE.format(*M31, 0.05)
    targets = Table({"ra": [M31[0], 100.0], "dec": [M31[1], 0.0], "id": [1, 2]})
    vot = tmp_path / "t.vot"
    targets.write(vot, format="votable")
    with running_server(released_db, timeout=10.0, uws_dir=tmp_path / "jobs") as base:
        plain = stilts(f"tapurl={base}/tap", f"adql={query}", f"out={tmp_path / 'a.vot'}")
        assert plain.returncode == 0, plain.stderr
        uploaded = stilts(
            f"tapurl={base}/tap", "nupload=1", f"upload1={vot}", "upname1=mine",
            "adql=SELECT u.id, COUNT(p.pts_key) AS n FROM TAP_UPLOAD.mine AS u LEFT JOIN "
            "psc AS p ON CONTAINS(POINT('ICRS', p.ra, p.dec), CIRCLE('ICRS', u.ra, u.dec, "
            "0.02)) = 1 GROUP BY u.id ORDER BY u.id", f"out={tmp_path / 'b.vot'}")
        assert uploaded.returncode == 0, uploaded.stderr
        with httpx.Client(auth=("team", PASSWORD)) as client:
            synced = rows(client.post(f"{base}/tap/sync", data={
                "LANG": "ADQL", "QUERY": query}).content)
            left = xml(client.get(f"{base}/tap/async")).findall("uws:jobref", NS)
    got = Table.read(tmp_path / "a.vot")
    assert len(got) > 5 and list(got["designation"]) == list(synced["designation"])
    counts = Table.read(tmp_path / "b.vot")
    assert list(counts["id"]) == [1, 2] and list(counts["n"]) == [near_m31(released_db), 0]
    assert (tmp_path / "jobs").is_dir()        # made by the first job: STILTS went async
    assert left == []                          # and deleted its finished jobs
