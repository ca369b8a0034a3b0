"""The web and IVOA server (``catscan serve``, docs/web.md): the 1998 tools as pages behind
the team password, and Simple Cone Search, TAP and SIA endpoints for VO clients, all from
one DuckDB file through the same services as the CLI; writing commands run through it
while it serves (docs/serving.md)."""

from .app import after_write_job, create_app, uvicorn_options

__all__ = ["after_write_job", "create_app", "uvicorn_options"]
