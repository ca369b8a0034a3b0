"""The web and IVOA server (``catscan serve``, docs/web.md): the 1998 tools as pages behind
the team password, and Simple Cone Search, TAP and SIA endpoints for VO clients, all from
one DuckDB file through the same services as the CLI."""

from .app import create_app, uvicorn_options

__all__ = ["create_app", "uvicorn_options"]
