"""The web and IVOA server (``catscan serve``, docs/web.md): the 1998 tools as pages behind
the team password, and Simple Cone Search, TAP and SIA endpoints for VO clients, all from
one DuckDB file through the same services as the CLI; writing commands run through it
while it serves (docs/serving.md).

The server's modules are imported on first use, not with the package: every ``catscan``
command reads the server's limits (``catscan.web.limits``) to build its parser, and
importing the whole server (Starlette, Jinja2, astropy's tables) took most of a command's
start-up."""

from __future__ import annotations

__all__ = ["after_write_job", "create_app", "uvicorn_options"]


def __getattr__(name: str):
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
