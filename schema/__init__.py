"""catscan's database schema: SQL files applied in order by ``catscan init``.

Each file ``NNN_name.sql`` is one migration step; ``NNN`` is recorded in ``schema_version``.
"""
