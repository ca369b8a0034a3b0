"""The safety layer every user query goes through (design notes §7): validate, then run locked.

Two independent walls, so that a hole in one is not a hole:

1. :func:`validate_sql` reads the SQL with sqlglot (one read-only query, known tables, no
   statements that write or configure, no functions that reach outside the database), then
   asks DuckDB's own parser which functions and tables the normalised text really names:
   sqlglot may render a function under another name than the user wrote, and what DuckDB
   runs is what must be on the allow-list.
2. :func:`query_connection` opens the file read-only with external access off and the
   configuration locked, so that files, extensions and settings stay out of reach even for
   SQL that was never validated.

:func:`run_readonly` then runs a query with a row cap and a timeout. ``docs/sql.md`` states
the rules for users.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.tokens import TokenType

from . import budget as budgets
from . import watchdog
from .budget import QueryTimeout  # noqa: F401  (catscan.safety.QueryTimeout, as before)
from .designation_match import compare_trimmed
from .errors import CatscanError

# statements and clauses that write, configure or leave the database, wherever they appear
_FORBIDDEN = tuple(getattr(exp, name) for name in (
    "Alter", "Analyze", "Attach", "Cache", "Command", "Comment", "Commit", "Copy", "Create",
    "Declare", "Delete", "Describe", "Detach", "Drop", "Execute", "Export", "Grant", "Insert",
    "Install", "Into", "Kill", "LoadData", "Merge", "Pragma", "Refresh", "Revoke", "Rollback",
    "Set", "Show", "Summarize", "Transaction", "TruncateTable", "Uncache", "Update", "Use",
) if hasattr(exp, name))

# table functions that only compute rows; every other one reads files or runs SQL text
TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
# parsed as functions by DuckDB but bound specially (not in duckdb_functions())
SPECIAL_FUNCTIONS = frozenset({"unnest"})
# catscan's own functions: the persistent ang_sep macro and the Python UDFs (udfs/)
CATSCAN_FUNCTIONS = frozenset({"ang_sep", "hpx29", "tmass_designation", "sky_polygon_contains"})

_DENIED_PREFIXES = (("read_", "reads files"), ("parquet_", "reads files"),
                    ("duckdb_", "shows the server's configuration"),
                    ("pragma_", "shows the server's configuration"))
_DENIED = {
    **dict.fromkeys(("glob", "sniff_csv", "read_csv", "read_parquet"), "reads files"),
    **dict.fromkeys(("query", "query_table", "json_execute_serialized_sql"), "runs SQL text"),
    **dict.fromkeys(("current_setting", "which_secret", "getenv"),
                    "shows the server's configuration"),
    **dict.fromkeys(("nextval", "currval", "setval", "write_log", "checkpoint",
                     "force_checkpoint", "enable_logging", "disable_logging",
                     "truncate_duckdb_logs", "enable_profiling", "disable_profiling"),
                    "changes the database's state"),
    **dict.fromkeys(("sleep_ms", "pg_sleep"), "only waits"),
}
# DuckDB parse-tree nodes that only read
_QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE",
                          "CTE_NODE"})
_PATH_LIKE = re.compile(r"[/\\:.~*?]")


class UnsafeQuery(CatscanError):
    """SQL refused by the safety rules: what was refused, and where when known."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None):
        self.reason, self.line, self.column = reason, line, column
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"SQL refused{where}: {reason}")


class QueryFailed(CatscanError):
    """DuckDB could not run a validated query (unknown column, type error, ...)."""


def denied_reason(name: str) -> str | None:
    """Why a function is never allowed, or None."""
    name = name.lower()
    if name in _DENIED:
        return _DENIED[name]
    return next((why for prefix, why in _DENIED_PREFIXES if name.startswith(prefix)), None)


# ---------------------------------------------------------------- the connection


def query_connection(db_path: str | os.PathLike | None, memory_limit: str | None = None, *,
                     one_thread: bool = False) -> duckdb.DuckDBPyConnection:
    """A read-only connection for user queries: catscan's UDFs registered, external access
    off, configuration locked.

    The order matters: a locked configuration refuses every later SET, including the one
    turning external access off. DuckDB shares one database instance among the connections
    to a file in a process, and both settings are global: while this connection is open,
    every connection to the same file in this process is locked down too. The thread count
    is locked with them: ``one_thread`` for a server (each request runs on its own worker
    thread, catscan.parallelism), else DuckDB's own, for a process running one query.
    """
    from .config import resolve_db_path
    from .db import connect, served
    from .parallelism import use_all_threads

    con = connect(db_path, read_only=True, memory_limit=memory_limit)
    if served(resolve_db_path(db_path)):    # a cursor of this process's server: locked down
        return con                          # by serving_connection
    try:
        # fetchall: after fetchone DuckDB 2 holds the result open, and the connection's
        # next relation (con.sql) fails with "unfinished result"
        [(external, locked)] = con.execute(
            "SELECT current_setting('enable_external_access'), "
            "current_setting('lock_configuration')").fetchall()
        if locked and external:
            raise CatscanError("cannot lock down the query connection: another connection "
                               "in this process locked the configuration with external "
                               "access on")
        if not locked:         # else a query connection to this file is already open
            if not one_thread:
                use_all_threads(con)
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


# what a server's write job may still set on its locked instance (loaders/load.py)
WRITER_SETTINGS = ("preserve_insertion_order",)


def serving_connection(db_path: str | os.PathLike, memory_limit: str | None = None, *,
                       files: bool) -> duckdb.DuckDBPyConnection:
    """The server's one read-write instance of a file (docs/serving.md): one thread per
    query, the configuration locked (but :data:`WRITER_SETTINGS`). ``files`` keeps DuckDB's
    access to files on, for the team's file whose write jobs read input files and attach
    the public copy; the public copy is written by copying rows in, and keeps it off.

    Its readers get cursors that the server runs inside ``BEGIN TRANSACTION READ ONLY``
    (catscan.web.pool): DuckDB then refuses any write they bind, whatever the SQL."""
    from .db import connect

    con = connect(db_path, read_only=False, memory_limit=memory_limit)
    try:
        con.execute("SET threads = 1")
        if not files:
            con.execute("SET enable_external_access = false")
        con.execute(f"SET allowed_configs = {list(WRITER_SETTINGS)}")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def allowed_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables, views and table macros of the catalog (schema main of this database).

    Nothing in main is private: the file holds survey data and its bookkeeping (loads,
    schema_version, catalog_state), no credentials. Temporary objects and other databases
    or schemas are not offered.
    """
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT temporary AND NOT internal "
        "UNION SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT temporary AND NOT internal "
        "UNION SELECT function_name FROM duckdb_functions() WHERE function_type = "
        "'table_macro' AND database_name = current_database() AND schema_name = 'main'"
    ).fetchall()
    return {name.lower() for (name,) in rows}


def allowed_functions(con: duckdb.DuckDBPyConnection | None = None) -> set[str]:
    """Scalar, aggregate, window functions and macros the connection knows (DuckDB's
    builtins, catscan's macros and UDFs), less the denied ones. Without a connection:
    DuckDB's builtins plus catscan's functions."""
    rows = _duck(lambda c: c.execute(
        "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type IN "
        "('scalar', 'aggregate', 'window', 'macro')").fetchall(), con)
    names = {name.lower() for (name,) in rows} | (CATSCAN_FUNCTIONS if con is None else set())
    return {name for name in names if denied_reason(name) is None}


# ---------------------------------------------------------------- validation


def validate_sql(sql: str, tables: set[str], functions: set[str] | None = None) -> str:
    """The normalised text of one read-only query, or :class:`UnsafeQuery` saying why not.

    ``tables``: names a query may read (:func:`allowed_tables`); ``functions``: names it may
    call (:func:`allowed_functions`; None: DuckDB's builtins and catscan's functions).
    """
    if not isinstance(sql, str):
        raise UnsafeQuery("SQL must be text")
    if functions is None:
        functions = _default_functions()
    tables = {t.lower() for t in tables}
    _check_statements(sql)
    statements = _parse(sql)
    if not statements:
        raise UnsafeQuery("no SQL statement given")
    if len(statements) > 1:
        raise UnsafeQuery(f"only one statement is allowed, found {len(statements)}",
                          *_second_statement(sql))
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise UnsafeQuery(f"only a query (SELECT, UNION, WITH ... SELECT) is allowed, not "
                          f"{_kind(tree)}", *_position(sql, tree))
    for node in tree.walk():
        _check_node(sql, node, tables, functions)
    compare_trimmed(tree)                   # designations match with or without the blank
    try:
        normalised = tree.sql(dialect="duckdb", copy=False)
    except Exception as err:
        raise UnsafeQuery(f"cannot write the SQL back: {_first_line(str(err))}") from None
    _check_with_duckdb(normalised, tables, functions)
    return normalised


def validate_tree(tree: exp.Expression, tables: set[str],
                  functions: set[str] | None = None, *, sql: str | None = None) -> str:
    """:func:`validate_sql` for a query built as a sqlglot tree (the CatScan compiler's):
    the same node rules, without parsing text back (the tree is what will be rendered).
    Returns the SQL text. The tree is rendered in place (``copy=False``: sqlglot's
    dialect transforms change it), so the nodes checked are those rendered, and no copy
    of the tree is made (~0.25 ms of a TAP cone); ``sql``: the text the caller rendered
    this very tree to already that way (the CatScan compiler does; ~0.3 ms a cone)."""
    if not isinstance(tree, exp.Query):
        raise UnsafeQuery(f"only a query is allowed, not {_kind(tree)}")
    if sql is None:
        sql = tree.sql(dialect="duckdb", copy=False)
    functions = _default_functions() if functions is None else functions
    tables = {t.lower() for t in tables}
    for node in tree.walk():
        _check_node(sql, node, tables, functions)
    return sql


def _check_statements(sql: str) -> None:
    """DuckDB's parser first: its syntax errors read better than sqlglot's, and it names
    every statement kind exactly (LOAD, CHECKPOINT, EXPORT...) where sqlglot sees commands."""
    try:
        statements = _duck(lambda c: c.extract_statements(sql))
    except duckdb.ParserException:
        raise _syntax_error(sql) from None
    except Exception:                   # text DuckDB cannot take at all: sqlglot decides
        return
    if len(statements) > 1:
        raise UnsafeQuery(f"only one statement is allowed, found {len(statements)}",
                          *_second_statement(sql))
    if not statements:
        return
    try:
        kind = statements[0].type
    except ValueError:          # a statement type newer than the Python enum (CONNECT...)
        kind = None
    if kind != duckdb.StatementType.SELECT:
        name = kind.name if kind is not None else (statements[0].query.split() or ["?"])[0]
        name = {"MULTI": "PIVOT", "LOAD": "INSTALL or LOAD", "CALL": "CALL or CHECKPOINT"
                }.get(name, name.upper())
        raise UnsafeQuery(f"only a query (SELECT, UNION, WITH ... SELECT) is allowed, "
                          f"not {name}")


def _syntax_error(sql: str) -> UnsafeQuery:
    """DuckDB's message and position (a byte offset) for SQL it cannot parse."""
    try:
        info = json.loads(_duck(lambda c: c.execute("SELECT json_serialize_sql(?)",
                                                    [sql]).fetchone()[0]))
    except Exception:
        info = {}
    line = column = None
    if str(info.get("position", "")).isdigit():
        before = sql.encode("utf-8", "surrogatepass")[:int(info["position"])].decode(
            "utf-8", "ignore")
        line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
    return UnsafeQuery(f"cannot parse the SQL: {info.get('error_message') or 'syntax error'}",
                       line, column)


class _NoCommandFallback(logging.Filter):
    """sqlglot warns when it reads a statement as a bare command: we refuse those anyway."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


def _parse(sql: str) -> list[exp.Expression]:
    log, quiet = logging.getLogger("sqlglot"), _NoCommandFallback()
    log.addFilter(quiet)
    try:
        return [s for s in sqlglot.parse(sql, dialect="duckdb") if s is not None]
    except ParseError as err:
        _check_query_nodes(_duckdb_tree(sql))      # WITH x AS (COPY ...): say that instead
        first = err.errors[0] if err.errors else {}
        raise UnsafeQuery(f"cannot parse the SQL: {first.get('description') or err}",
                          first.get("line"), first.get("col")) from None
    except Exception as err:                        # TokenError, and anything sqlglot throws
        raise UnsafeQuery(f"cannot parse the SQL: {_first_line(str(err))}") from None
    finally:
        log.removeFilter(quiet)


def _check_node(sql: str, node: exp.Expression, tables: set[str], functions: set[str]
                ) -> None:
    if isinstance(node, _FORBIDDEN):
        raise UnsafeQuery(f"{_kind(node)} is not allowed in a query", *_position(sql, node))
    if isinstance(node, (exp.Placeholder, exp.Parameter)):
        raise UnsafeQuery("parameters ($name, ?) cannot be given here", *_position(sql, node))
    if isinstance(node, exp.Table):
        _check_table(sql, node, tables)
    elif isinstance(node, exp.Func):
        name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
        reason = denied_reason(name)
        if reason:
            raise UnsafeQuery(f"function {name.lower()} is not allowed: it {reason}",
                              *_position(sql, node))
        if isinstance(node, exp.Anonymous) and name.lower() not in functions \
                and not isinstance(node.parent, exp.Table):
            raise UnsafeQuery(f"unknown function {name}", *_position(sql, node))


def _check_table(sql: str, table: exp.Table, tables: set[str]) -> None:
    where = _position(sql, table)
    if table.args.get("catalog") is not None or table.db.lower() not in ("", "main"):
        raise UnsafeQuery(f"only the catalog's own tables can be read, not {table.sql('duckdb')}",
                          *where)
    if isinstance(table.this, exp.Func):
        func = table.this
        name = (func.name if isinstance(func, exp.Anonymous) else func.sql_name()).lower()
        if name not in TABLE_FUNCTIONS and name not in tables:
            reason = denied_reason(name) or "only range, generate_series and unnest are"
            raise UnsafeQuery(f"table function {name} is not allowed ({reason})", *where)
        return
    if not isinstance(table.this, exp.Identifier):
        raise UnsafeQuery(f"cannot read from {table.this.sql('duckdb')}", *where)
    name = table.name.lower()
    if name in tables or name in _ctes_in_scope(table):
        return
    if _PATH_LIKE.search(name):
        raise UnsafeQuery(f"files cannot be read: {table.name!r} is not a table", *where)
    raise UnsafeQuery(f"unknown table {table.name} (tables: {', '.join(sorted(tables))})",
                      *where)


def _ctes_in_scope(node: exp.Expression) -> set[str]:
    """Names of the CTEs defined by the queries enclosing ``node`` (lexical scope)."""
    names: set[str] = set()
    for ancestor in _ancestors(node):
        with_ = ancestor.args.get("with_") or ancestor.args.get("with") \
            if isinstance(ancestor, exp.Query) else None
        if with_ is not None:
            names.update(cte.alias_or_name.lower() for cte in with_.expressions)
    return names


def _ancestors(node: exp.Expression) -> Iterator[exp.Expression]:
    while node.parent is not None:
        node = node.parent
        yield node


def _check_with_duckdb(sql: str, tables: set[str], functions: set[str]) -> None:
    """Walk DuckDB's own parse of the normalised SQL: every query node must only read, and
    every function, table function and table it names must be allowed (what sqlglot renders
    is what DuckDB binds)."""
    tree = _duckdb_tree(sql)
    if len(tree.get("statements", [])) != 1:
        raise UnsafeQuery("only one statement is allowed")
    _check_query_nodes(tree)
    ctes: set[str] = set()
    base_tables: list[dict] = []
    table_functions: set[int] = set()     # their FUNCTION nodes are not scalar calls
    for node in _dicts(tree):
        kind = node.get("type")
        ctes.update(_cte_names(node))
        if kind == "TABLE_FUNCTION":
            function = node.get("function") or {}
            table_functions.add(id(function))
            name = str(function.get("function_name", "")).lower()
            if name not in TABLE_FUNCTIONS and name not in tables:
                raise UnsafeQuery(f"table function {name} is not allowed")
        elif kind == "FUNCTION" and id(node) not in table_functions:
            name = str(node.get("function_name", "")).lower()
            qualified = node.get("catalog") or node.get("schema", "") not in ("", "main")
            if qualified or (name not in functions and name not in SPECIAL_FUNCTIONS):
                why = denied_reason(name)
                raise UnsafeQuery(f"function {name} is not allowed"
                                  + (f": it {why}" if why else ""))
        elif kind == "BASE_TABLE":
            base_tables.append(node)
    for node in base_tables:
        name = str(node.get("table_name", "")).lower()
        qualified = node.get("catalog_name") or node.get("schema_name", "") not in ("", "main")
        if qualified or (name not in tables and name not in ctes):
            raise UnsafeQuery(f"table {name} is not allowed")


def _duckdb_tree(sql: str) -> dict:
    """DuckDB's parse tree of a query, as JSON."""
    try:
        tree = json.loads(_duck(lambda c: c.execute(
            "SELECT json_serialize_sql(?, skip_null := true, skip_empty := true)",
            [sql]).fetchone()[0]))
    except Exception as err:
        raise UnsafeQuery(f"DuckDB cannot parse the SQL: {_first_line(str(err))}") from None
    if tree.get("error"):
        raise UnsafeQuery(f"DuckDB cannot parse the SQL: {tree.get('error_message')}")
    return tree


def _check_query_nodes(tree: dict) -> None:
    """Only reading query nodes: DuckDB 2.0 runs INSERT, UPDATE, DELETE and COPY TO in a
    WITH clause of a statement it calls a SELECT."""
    for node in _dicts(tree):
        kind = node.get("type")
        if isinstance(kind, str) and kind.endswith("_NODE") and kind not in _QUERY_NODES:
            what = kind.removesuffix("_NODE").removesuffix("_QUERY").replace("_", " ")
            raise UnsafeQuery(f"{what} inside a query is not allowed")


def _dicts(tree) -> Iterator[dict]:
    """Every JSON object in DuckDB's parse tree, parents before children."""
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _cte_names(node: dict) -> list[str]:
    cte_map = node.get("cte_map")
    if not isinstance(cte_map, dict):
        return []
    return [str(entry.get("key", "")).lower() for entry in cte_map.get("map", [])]


# a private in-memory DuckDB for parsing and the builtin function list; connections are not
# safe for concurrent use, hence the lock
_DUCK: duckdb.DuckDBPyConnection | None = None
_DUCK_LOCK = threading.Lock()
_DEFAULT_FUNCTIONS: set[str] | None = None


def _duck(work, con: duckdb.DuckDBPyConnection | None = None):
    global _DUCK
    if con is not None:
        return work(con)
    with _DUCK_LOCK:
        if _DUCK is None:
            _DUCK = duckdb.connect(":memory:")
            _DUCK.execute("SET enable_external_access = false")
            _DUCK.execute("SET lock_configuration = true")
        return work(_DUCK)


def _default_functions() -> set[str]:
    """DuckDB's builtins, catscan's UDFs and the scalar macros its schema files create."""
    global _DEFAULT_FUNCTIONS
    if _DEFAULT_FUNCTIONS is None:
        _DEFAULT_FUNCTIONS = allowed_functions() | {
            name for name in schema_macros() if denied_reason(name) is None}
    return _DEFAULT_FUNCTIONS


_SCALAR_MACRO = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?MACRO\s+(\w+)\s*\([^)]*\)\s+AS\s+"
                           r"(?!TABLE\b)", re.IGNORECASE)


def schema_macros() -> set[str]:
    """Names of the scalar macros in catscan's schema files (the schema is data)."""
    from .db import schema_files

    return {m.group(1).lower() for f in schema_files() for m in _SCALAR_MACRO.finditer(f.sql)}


def _kind(node: exp.Expression) -> str:
    name = type(node).__name__
    if isinstance(node, exp.Command):
        name = str(node.this)
    return name.upper() if name.isalpha() else name


def _position(sql: str, node: exp.Expression) -> tuple[int | None, int | None]:
    """(line, column) of the first token of ``node`` that sqlglot placed, 1-based."""
    starts = [n.meta["start"] for n in node.walk() if "start" in n.meta]
    if not starts:
        return None, None
    start = min(starts)
    return sql.count("\n", 0, start) + 1, start - sql.rfind("\n", 0, start)


def _second_statement(sql: str) -> tuple[int | None, int | None]:
    try:
        tokens = sqlglot.tokenize(sql, read="duckdb")
    except Exception:
        return None, None
    for before, token in zip(tokens, tokens[1:], strict=False):
        if before.token_type == TokenType.SEMICOLON and token.token_type != TokenType.SEMICOLON:
            return token.line, token.col - len(token.text) + 1
    return None, None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


# ---------------------------------------------------------------- running


_SELECTS: OrderedDict[str, bool] = OrderedDict()     # SQL text -> one SELECT? (same answer
_SELECTS_KEPT = 512                                  # every time: a server's repeats skip it)


def _single_select(con: duckdb.DuckDBPyConnection, sql: str) -> str | duckdb.Statement | None:
    """A last guard before running: DuckDB's own parser sees exactly one SELECT. What to run
    (the statement DuckDB parsed, so that it is not parsed again; the text when it was
    seen before), or None."""
    if sql in _SELECTS:
        _SELECTS.move_to_end(sql)
        return sql if _SELECTS[sql] else None
    try:
        statements = con.extract_statements(sql)
        select = len(statements) == 1 and statements[0].type == duckdb.StatementType.SELECT
    except duckdb.ParserException as err:   # SQL a translator wrote that DuckDB cannot read
        raise QueryFailed(f"query failed: {str(err).split(chr(10))[0].strip()}") from None
    except (duckdb.Error, ValueError):
        select = False
    _SELECTS[sql] = select
    if len(_SELECTS) > _SELECTS_KEPT:
        _SELECTS.popitem(last=False)
    return statements[0] if select else None


def run_readonly(con: duckdb.DuckDBPyConnection, sql: str, *, timeout: float | None = None,
                 limit: int | None = None) -> tuple[pa.Table, bool]:
    """Run what :func:`validate_sql` returned: (at most ``limit`` rows, whether more existed).

    Rows are streamed and reading stops at ``limit + 1``, so a capped query does not
    compute its whole result. After ``timeout`` seconds the query is interrupted
    (:class:`QueryTimeout`); the connection stays usable. Under a :class:`catscan.budget.
    Budget` (a server request) the query also ends at the budget's deadline or when the
    budget is stopped, with the budget's error.
    """
    statement = _single_select(con, sql)
    if statement is None:
        raise UnsafeQuery("run_readonly runs one validated query only")
    budget = budgets.current()
    left = budget.remaining() if budget is not None else None
    own = timeout is not None and (left is None or timeout < left)
    fired = threading.Event()

    def interrupt() -> None:
        if own:
            fired.set()
            con.interrupt()
        else:                              # the budget's deadline comes first
            budget.stop(budget.out_of_time())

    wait = timeout if own else left
    alarm = None
    batches: list[pa.RecordBatch] = []
    rows = 0
    try:
        with budget.running(con) if budget is not None else contextlib.nullcontext():
            if wait is not None:
                alarm = watchdog.after(wait, interrupt)
            reader = con.sql(statement).to_arrow_reader(min(limit + 1, 65536) if limit else 65536)
            try:
                while limit is None or rows <= limit:
                    try:
                        batch = reader.read_next_batch()
                    except StopIteration:
                        break
                    batches.append(batch)
                    rows += batch.num_rows
                    if budget is not None:
                        budget.check()
                schema = reader.schema
            finally:
                reader.close()
    except (duckdb.InterruptException, OSError, pa.ArrowException) as err:
        # an interrupt while Arrow streams the result comes back as an Arrow error
        if budget is not None and budget.error is not None:
            raise budget.error from None
        if fired.is_set():
            raise QueryTimeout(f"query interrupted after {timeout:g} s") from None
        if isinstance(err, duckdb.InterruptException) or "INTERRUPT" in str(err):
            raise QueryFailed("query interrupted") from None
        raise QueryFailed(f"query failed: {str(err).strip()}") from None
    except duckdb.Error as err:
        message = str(err).split("\n\nLINE ")[0].strip()   # LINE n points into normalised SQL
        raise QueryFailed(f"query failed: {message}") from None
    finally:
        if alarm is not None:
            alarm.cancel()
    table = pa.Table.from_batches(batches, schema=schema)
    if limit is not None and table.num_rows > limit:
        return table.slice(0, limit), True
    return table, False
