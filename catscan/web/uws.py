"""TAP async: ``/tap/async``, UWS 1.1 jobs (docs/vo.md). The job list (PHASE, AFTER, LAST),
creation (POST with the parameters of /tap/sync, uploads included: 303 to the job), the job
document and its parts (phase, executionduration, destruction, quote, owner, parameters,
results, results/result, error), WAIT, and deletion (DELETE or ACTION=DELETE: 303 to the
list). Jobs are kept on disk by jobs.py and run by job_runner.py.

Team access applies as for /tap/sync: jobs made with the team password are owned by
``team``, a visitor's (released nights only) by ``anonymous``; each sees only its own
jobs, and any other job id answers 404, as an unknown one does. Visitors' job list is empty:
their jobs are reached by their (unguessable) URL only, since every visitor is the same
``anonymous``."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from ..budget import current
from ..errors import CatscanError
from .guard import team_or_released
from .jobs import ACTIVE, TEAM, VISITOR, Job, JobLimitExceeded, iso
from .limits import RequestTooLarge
from .tap import (
    TapError,
    checked_query,
    error_response,
    read_params,
    read_uploads,
    upload_fetcher,
)

XML = "text/xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
UWS = ('xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" '
       'xmlns:xlink="http://www.w3.org/1999/xlink" '
       'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')
UWS_PARAMS = ("PHASE", "RUNID", "ACTION")       # the job's, not the query's
PHASES = ("PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED", "UNKNOWN",
          "HELD", "SUSPENDED", "ARCHIVED")
WAIT_MARGIN_S = 0.5                   # a WAIT answers this long before the request's deadline


class UwsError(CatscanError):
    def __init__(self, message: str, status: int = 400):
        self.status = status
        super().__init__(message)


def _owner(request: Request) -> str:
    return VISITOR if request.state.public else TEAM


def _runner(request: Request):
    return request.app.state.uws


def _job(request: Request) -> Job:
    """The job of the path, if the client owns it (else 404, as for an unknown id)."""
    job_id = request.path_params["job_id"]
    job = _runner(request).store.jobs.get(job_id)
    if job is None or job.owner != _owner(request):
        raise UwsError(f"no job {job_id} here (it may have reached its destruction time)", 404)
    return job


def _job_url(request: Request, job: Job) -> str:
    return str(request.url_for("tap_job", job_id=job.id))


def _see_job(request: Request, job: Job) -> Response:
    return RedirectResponse(_job_url(request, job), status_code=303)


def handled(handler):
    """A UWS endpoint under the team-or-visitor guard, its errors as DALI VOTables."""
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except (UwsError, TapError) as exc:
            return error_response(str(exc), exc.status)
        except JobLimitExceeded as exc:
            return error_response(str(exc), 403)
        except RequestTooLarge as exc:
            return error_response(str(exc), 413)
        except CatscanError as exc:
            return error_response(str(exc), 400)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return team_or_released(endpoint)


async def _form(request: Request) -> dict[str, list]:
    return await read_params(request)


def _one(params: dict[str, list], name: str) -> str | None:
    values = params.get(name, [])
    if len(values) > 1:
        raise UwsError(f"{name} was given {len(values)} times; it takes one value")
    if values and not isinstance(values[0], str):
        raise UwsError(f"{name} must be a value, not a file")
    return values[0] if values else None


# ---- times ---------------------------------------------------------------------------------

def parse_time(text: str, name: str) -> float:
    """An ISO 8601 time (UTC when it names no zone): Unix seconds."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UwsError(f"{name}={text!r} is not an ISO 8601 time such as "
                       "2026-12-31T12:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


# ---- documents -----------------------------------------------------------------------------

def _element(tag: str, value) -> str:
    if value is None:
        return f'<uws:{tag} xsi:nil="true"/>'
    return f"<uws:{tag}>{escape(str(value))}</uws:{tag}>"


def _result_url(request: Request, job: Job) -> str:
    return str(request.url_for("tap_job_result", job_id=job.id))


def results_xml(request: Request, job: Job) -> str:
    if job.phase != "COMPLETED" or job.result is None:
        return "<uws:results/>"
    r = job.result
    return (f'<uws:results><uws:result id="result" xlink:type="simple" '
            f'xlink:href={quoteattr(_result_url(request, job))} '
            f'size="{r["bytes"]}" mime-type={quoteattr(r["media_type"])}/></uws:results>')


def parameters_xml(job: Job) -> str:
    items = "".join(f"<uws:parameter id={quoteattr(name)}>{escape(value)}</uws:parameter>"
                    for name, value in sorted(job.params.items()))
    return f"<uws:parameters>{items}</uws:parameters>"


def job_xml(request: Request, job: Job) -> str:
    quote = _runner(request).quote(job)
    error = ""
    if job.phase == "ERROR" and job.error:
        error = (f'\n  <uws:errorSummary type="fatal" hasDetail="true">'
                 f"<uws:message>{escape(job.error)}</uws:message></uws:errorSummary>")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<uws:job {UWS} version="1.1">\n'
            f"  {_element('jobId', job.id)}\n  {_element('runId', job.run_id)}\n"
            f"  {_element('ownerId', job.owner)}\n  {_element('phase', job.phase)}\n"
            f"  {_element('quote', iso(quote) if quote else None)}\n"
            f"  {_element('creationTime', iso(job.creation))}\n"
            f"  {_element('startTime', iso(job.start) if job.start else None)}\n"
            f"  {_element('endTime', iso(job.end) if job.end else None)}\n"
            f"  {_element('executionDuration', round(job.duration))}\n"
            f"  {_element('destruction', iso(job.destruction))}\n"
            f"  {parameters_xml(job)}\n  {results_xml(request, job)}{error}\n</uws:job>\n")


def jobs_xml(request: Request, jobs: list[Job]) -> str:
    refs = "".join(
        f"\n  <uws:jobref id={quoteattr(j.id)} xlink:type=\"simple\" "
        f"xlink:href={quoteattr(_job_url(request, j))}>{_element('phase', j.phase)}"
        f"{_element('runId', j.run_id) if j.run_id else ''}{_element('ownerId', j.owner)}"
        f"{_element('creationTime', iso(j.creation))}</uws:jobref>" for j in jobs)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<uws:jobs {UWS} version="1.1">{refs}\n'
            "</uws:jobs>\n")


# ---- the job list --------------------------------------------------------------------------

async def job_list(request: Request) -> Response:
    """GET /tap/async: the client's jobs; PHASE (repeatable), AFTER (creation time after),
    LAST (the n most recent, newest first) as UWS 1.1 has them."""
    params = {k.upper(): v for k, v in request.query_params.multi_items()}
    phases = [v.upper() for k, v in request.query_params.multi_items() if k.upper() == "PHASE"]
    for phase in phases:
        if phase not in PHASES:
            raise UwsError(f"PHASE={phase} is not a UWS phase: one of {', '.join(PHASES)}")
    jobs = [] if request.state.public else sorted(
        _runner(request).store.owned(_owner(request)), key=lambda j: (j.creation, j.id))
    if phases:
        jobs = [j for j in jobs if j.phase in phases]
    else:
        jobs = [j for j in jobs if j.phase != "ARCHIVED"]
    if "AFTER" in params:
        after = round(parse_time(params["AFTER"], "AFTER") * 1000)     # ms, as shown
        jobs = [j for j in jobs if round(j.creation * 1000) > after]
    if "LAST" in params:
        text = params["LAST"].strip()
        if not text.isdigit() or int(text) < 1:
            raise UwsError(f"LAST={params['LAST']!r} must be a whole number above 0")
        jobs = jobs[::-1][:int(text)]
    return Response(jobs_xml(request, jobs), media_type=XML)


async def create(request: Request) -> Response:
    """POST /tap/async: a new job (PENDING; QUEUED with PHASE=RUN)."""
    runner, limits = _runner(request), request.app.state.limits
    params = await _form(request)
    phase = (_one(params, "PHASE") or "").upper()
    if phase not in ("", "RUN"):
        raise UwsError(f"PHASE={phase} at creation: only PHASE=RUN (or none) is accepted")
    run_id = _one(params, "RUNID")
    text = {name: values[0] for name, values in params.items()
            if name not in UWS_PARAMS and values and isinstance(values[0], str)}
    uploads, refused = {}, None
    try:         # a query that cannot run makes a job that ends in ERROR, saying why (TAP)
        tap = checked_query(params, limits)
        uploads = await read_uploads(params, limits, upload_fetcher(request))
        if "UPLOAD" in tap.parameters:
            text["UPLOAD"] = tap.parameters["UPLOAD"]
    except TapError as exc:
        if exc.status != 400:                    # over the request limits: refused now
            raise
        refused = str(exc)
    now = time.time()
    job = Job(id=secrets.token_urlsafe(16), owner=_owner(request), params=text, creation=now,
              destruction=now + limits.job_lifetime_s, duration=limits.timeout_s,
              run_id=run_id, error=refused)
    runner.store.add(job, uploads)
    try:
        await anyio.to_thread.run_sync(runner.store.write_new, job, uploads)
    except OSError as exc:
        runner.store.delete(job)
        raise UwsError(f"the server cannot store the job now: {exc.strerror}", 507) from None
    except BaseException:
        runner.store.delete(job)
        raise
    runner.new_destruction()
    if phase == "RUN":
        runner.run(job)
    return _see_job(request, job)


# ---- one job -------------------------------------------------------------------------------

async def job_document(request: Request) -> Response:
    """GET /tap/async/ID: the uws:job; WAIT=n blocks (UWS 1.1) while the job is active
    (and, with PHASE, in that phase) until it changes phase or n seconds pass (-1: as long
    as this server lets a request wait: its timeout)."""
    job = _job(request)
    wait = request.query_params.get("WAIT")
    if wait is not None:
        try:
            seconds = float(wait)
        except ValueError:
            raise UwsError(f"WAIT={wait!r} is not a number of seconds") from None
        budget = current()
        most = (budget.remaining() - WAIT_MARGIN_S) if budget and budget.remaining() else 0.0
        seconds = most if seconds < 0 else min(seconds, most)
        phase = request.query_params.get("PHASE")
        if job.phase in ACTIVE and (phase is None or phase.upper() == job.phase) \
                and seconds > 0:
            await _runner(request).wait(job, seconds)
            job = _runner(request).store.jobs.get(job.id) or job
    return Response(job_xml(request, job), media_type=XML)


async def job_post(request: Request) -> Response:
    """POST /tap/async/ID with ACTION=DELETE: as DELETE."""
    job = _job(request)
    action = (_one(await _form(request), "ACTION") or "").upper()
    if action != "DELETE":
        raise UwsError("POST to a job takes ACTION=DELETE; its parts take the other changes "
                       "(phase, executionduration, destruction, parameters)")
    return _delete(request, job)


async def job_delete(request: Request) -> Response:
    return _delete(request, _job(request))


def _delete(request: Request, job: Job) -> Response:
    _runner(request).destroy(job)
    return RedirectResponse(str(request.url_for("tap_async")), status_code=303)


async def phase(request: Request) -> Response:
    """GET: the phase; POST PHASE=RUN (a PENDING job) or PHASE=ABORT."""
    job = _job(request)
    if request.method == "GET":
        return Response(job.phase, media_type=TEXT)
    wanted = (_one(await _form(request), "PHASE") or "").upper()
    runner = _runner(request)
    if wanted == "RUN":
        if job.phase != "PENDING":
            raise UwsError(f"the job is {job.phase}: only a PENDING job can be run")
        runner.run(job)
    elif wanted == "ABORT":
        runner.abort(job)
    else:
        raise UwsError(f"PHASE={wanted or '(none)'}: post PHASE=RUN or PHASE=ABORT")
    return _see_job(request, job)


async def execution_duration(request: Request) -> Response:
    """GET: the seconds the job may run; POST EXECUTIONDURATION (PENDING jobs), at most the
    server's timeout (0 or more asks for that)."""
    job = _job(request)
    if request.method == "POST":
        text = _one(await _form(request), "EXECUTIONDURATION") or ""
        try:
            seconds = float(text)
        except ValueError:
            raise UwsError(f"EXECUTIONDURATION={text!r} is not a number of seconds") from None
        if seconds < 0:
            raise UwsError(f"EXECUTIONDURATION={text} is negative")
        _pending(job, "its executionDuration")
        hard = request.app.state.limits.timeout_s
        job.duration = hard if seconds == 0 else min(seconds, hard)
        _runner(request).changed(job)
        return _see_job(request, job)
    return Response(str(round(job.duration)), media_type=TEXT)


async def destruction(request: Request) -> Response:
    """GET: the destruction time; POST DESTRUCTION: an earlier one (a later one than the
    server's lifetime allows is cut to it)."""
    job = _job(request)
    if request.method == "POST":
        text = _one(await _form(request), "DESTRUCTION") or ""
        moment = parse_time(text, "DESTRUCTION")
        latest = job.creation + request.app.state.limits.job_lifetime_s
        job.destruction = min(moment, latest)
        _runner(request).changed(job)
        _runner(request).new_destruction()
        return _see_job(request, job)
    return Response(iso(job.destruction), media_type=TEXT)


async def quote(request: Request) -> Response:
    job = _job(request)
    moment = _runner(request).quote(job)
    return Response(iso(moment) if moment else "", media_type=TEXT)


async def owner(request: Request) -> Response:
    return Response(_job(request).owner, media_type=TEXT)


async def parameters(request: Request) -> Response:
    """GET: uws:parameters; POST: change a PENDING job's query parameters (not uploads)."""
    job = _job(request)
    if request.method == "POST":
        params = await _form(request)
        _pending(job, "its parameters")
        if "UPLOAD" in params:
            raise UwsError("uploads are given when the job is created, not changed later")
        merged = {k: [v] for k, v in job.params.items()}
        merged.update({k: v for k, v in params.items() if k not in UWS_PARAMS})
        try:
            checked_query(merged, request.app.state.limits)
            job.error = None
            if "UPLOAD" in merged and not job.uploads:
                job.error = ("the job's uploads were not accepted when it was made; create "
                             "a new job with them")
        except TapError as exc:
            if exc.status != 400:
                raise
            job.error = str(exc)
        job.params = {k: v[0] for k, v in merged.items() if v and isinstance(v[0], str)}
        _runner(request).changed(job)
        return _see_job(request, job)
    body = parameters_xml(job).replace("<uws:parameters>", f"<uws:parameters {UWS}>", 1)
    return Response(f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n', media_type=XML)


def _pending(job: Job, what: str) -> None:
    if job.phase != "PENDING":
        raise UwsError(f"the job is {job.phase}: {what} can be changed while it is PENDING")


async def results(request: Request) -> Response:
    job = _job(request)
    body = results_xml(request, job).replace("<uws:results", f"<uws:results {UWS}", 1)
    return Response(f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n', media_type=XML)


async def result(request: Request) -> Response:
    """The answer, as /tap/sync would have sent it (VOTable, or RESPONSEFORMAT's)."""
    job = _job(request)
    if job.phase != "COMPLETED" or job.result is None:
        raise UwsError(f"the job is {job.phase}: it has no result", 404)
    path = _runner(request).store.path(job) / job.result["file"]
    return FileResponse(path, media_type=job.result["media_type"])


async def error(request: Request) -> Response:
    """The DALI error VOTable of a job in ERROR."""
    job = _job(request)
    if job.phase != "ERROR":
        raise UwsError(f"the job is {job.phase}: it has no error", 404)
    return error_response(job.error or "the job failed", 200)


ROUTES = [
    Route("/tap/async", handled(job_list), methods=["GET"], name="tap_async"),
    Route("/tap/async", handled(create), methods=["POST"], name="tap_async_create"),
    Route("/tap/async/{job_id}", handled(job_document), methods=["GET"], name="tap_job"),
    Route("/tap/async/{job_id}", handled(job_post), methods=["POST"]),
    Route("/tap/async/{job_id}", handled(job_delete), methods=["DELETE"]),
    Route("/tap/async/{job_id}/phase", handled(phase), methods=["GET", "POST"]),
    Route("/tap/async/{job_id}/executionduration", handled(execution_duration),
          methods=["GET", "POST"]),
    Route("/tap/async/{job_id}/destruction", handled(destruction), methods=["GET", "POST"]),
    Route("/tap/async/{job_id}/quote", handled(quote), methods=["GET"]),
    Route("/tap/async/{job_id}/owner", handled(owner), methods=["GET"]),
    Route("/tap/async/{job_id}/parameters", handled(parameters), methods=["GET", "POST"]),
    Route("/tap/async/{job_id}/results", handled(results), methods=["GET"]),
    Route("/tap/async/{job_id}/results/result", handled(result), methods=["GET"],
          name="tap_job_result"),
    Route("/tap/async/{job_id}/error", handled(error), methods=["GET"]),
]
