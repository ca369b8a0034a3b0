"""Packaging: both `pip install .` and `pip install -e .` give a working catscan.

Each install goes into its own venv by ``pip install --no-deps --no-build-isolation``, the
build requirements of pyproject.toml having been installed into the venv first. The
dependencies come from the environment running the tests, whatever it is (a venv, the
machine's Python, a user site): a ``.pth`` file in the new venv adds the running
interpreter's site directories after its own, as ``--system-site-packages`` would for the
base Python (which, under a venv, is not where the dependencies are). The repository is copied to a
temporary directory and installed from there: a build writes ``build/`` and ``*.egg-info``
into the tree it builds, and an editable install of the copy is told apart from the host's
editable install of the repository.

The host's editable install stays visible in these venvs (its import hook is installed by
the host's site directory), so every test checks which files were actually imported.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
# Where the import packages live in the repository (design card): udfs/, loaders/ and
# schema/ at the top, installed as catscan.udfs, catscan.loaders and catscan.schema.
SOURCE_DIRS = {"catscan": "catscan", "catscan.udfs": "udfs", "catscan.loaders": "loaders",
               "catscan.schema": "schema"}
NOT_COPIED = {".git", ".venv", "build", "dist", "__pycache__", ".pytest_cache", ".ruff_cache",
              ".hypothesis", ".benchmarks", "catscan-demo"}
NOT_COPIED_SUFFIXES = (".egg-info", ".duckdb", ".duckdb.wal", ".duckdb.tmp")
TIMEOUT = 300

PROBE = """
import importlib, json, sys
from importlib import resources
import catscan, catscan.udfs, catscan.loaders
from catscan.db import schema_files
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
print(json.dumps({
    "modules": {name: module.__file__ for name, module in sys.modules.items()
                if name.split(".")[0] == "catscan" and getattr(module, "__file__", None)},
    "schema_dir": str(resources.files("catscan.schema")),
    "schema": {f.name: f.sql for f in schema_files()},
}))
"""


@dataclass(frozen=True)
class Install:
    kind: str             # "regular" or "editable"
    source: Path          # the copy of the repository that was installed
    venv: Path
    site_packages: Path
    workdir: Path         # an empty directory to run commands in (not the repository)

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def script(self) -> Path:
        return self.venv / "bin" / "catscan"

    @property
    def code_root(self) -> Path:
        """Where every imported catscan module must come from."""
        return self.site_packages / "catscan" if self.kind == "regular" else self.source

    def run(self, *command: str | Path) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "PYTHONHOME", "CATSCAN_DB", "VIRTUAL_ENV")}
        return subprocess.run([str(c) for c in command], capture_output=True, text=True,
                              cwd=self.workdir, env=env, timeout=TIMEOUT)


def _ignore(directory: str, names: list[str]) -> set[str]:
    ignored = {n for n in names if n in NOT_COPIED or n.endswith(NOT_COPIED_SUFFIXES)}
    if Path(directory).resolve() == REPO / "bench":
        ignored.add("out")
    return ignored


def _checked(result: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{what} failed:\n{result.stdout}\n{result.stderr}"
    return result


def make_install(root: Path, kind: str) -> Install:
    source, venv, workdir = root / "source", root / "venv", root / "work"
    shutil.copytree(REPO, source, ignore=_ignore)
    workdir.mkdir()
    _checked(subprocess.run([sys.executable, "-m", "venv", str(venv)],
                            capture_output=True, text=True, timeout=TIMEOUT), "python -m venv")
    install = Install(kind, source, venv, Path(), workdir)
    purelib = Path(_checked(install.run(
        install.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"),
        "asking the venv for its site-packages").stdout.strip())
    see_host_environment(purelib)
    build_requires = tomllib.loads((source / "pyproject.toml").read_text())["build-system"][
        "requires"]
    _checked(install.run(install.python, "-m", "pip", "install", *build_requires),
             f"installing the build requirements {build_requires} into the venv")
    editable = ["-e"] if kind == "editable" else []
    _checked(install.run(install.python, "-m", "pip", "install", "--no-deps",
                         "--no-build-isolation", *editable, source), f"pip install ({kind})")
    return Install(kind, source, venv, purelib, workdir)


def host_site_dirs() -> list[str]:
    """The site directories the running interpreter imports its packages from: its
    environment's (a venv's, or the machine Python's) and the user site when enabled."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(dirs) if Path(d).is_dir()]


def see_host_environment(purelib: Path) -> None:
    """Make a new venv import the dependencies the tests run with: a ``.pth`` file (read
    after the venv's own, "zz") adds each host site directory with ``site.addsitedir``, so
    that their own ``.pth`` files are processed too, as for a system site directory."""
    lines = [f"import site; site.addsitedir({d!r})" for d in host_site_dirs()]
    (purelib / "zz_host_environment.pth").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def regular_install(tmp_path_factory) -> Install:
    return make_install(tmp_path_factory.mktemp("regular"), "regular")


@pytest.fixture(scope="module")
def editable_install(tmp_path_factory) -> Install:
    return make_install(tmp_path_factory.mktemp("editable"), "editable")


@pytest.fixture(params=["regular", "editable"])
def install(request) -> Install:
    return request.getfixturevalue(f"{request.param}_install")


def source_modules(source: Path) -> list[str]:
    """Every module of the repository's import packages, by its installed name."""
    names = []
    for package, directory in SOURCE_DIRS.items():
        for file in sorted((source / directory).rglob("*.py")):
            parts = file.relative_to(source / directory).with_suffix("").parts
            if "__pycache__" in parts or parts[-1] == "__main__":
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.append(".".join((package, *parts)))
    return names


def probe(install: Install, modules: list[str]) -> dict:
    result = _checked(install.run(install.python, "-c", PROBE, json.dumps(modules)),
                      f"importing catscan in the {install.kind} venv")
    return json.loads(result.stdout)


def test_every_catscan_module_is_imported_from_the_install(install):
    """catscan, catscan.udfs, catscan.loaders and every other module of the repository
    import in the venv, all from the install (site-packages for a regular install, the
    installed source tree for an editable one), never from the host's editable install."""
    modules = source_modules(install.source)
    assert {"catscan", "catscan.udfs", "catscan.loaders", "catscan.schema",
            "catscan.db", "catscan.cli"} <= set(modules)
    found = probe(install, modules)["modules"]
    assert set(modules) <= set(found), f"not imported: {sorted(set(modules) - set(found))}"
    elsewhere = {name: file for name, file in found.items()
                 if not Path(file).resolve().is_relative_to(install.code_root.resolve())}
    assert not elsewhere, f"imported from outside {install.code_root}: {elsewhere}"


def test_the_schema_files_are_readable_from_the_install(install):
    """catscan.db.schema_files() reads every schema/*.sql of the repository, from the
    install, and one of them creates the PSC table."""
    found = probe(install, [])
    shipped = sorted(p.name for p in (install.source / "schema").glob("*.sql"))
    assert shipped, "the repository has no schema/*.sql"
    assert sorted(found["schema"]) == shipped
    assert Path(found["schema_dir"]).resolve().is_relative_to(install.code_root.resolve()), \
        f"schema files read from {found['schema_dir']}, not from {install.code_root}"
    assert any(re.search(r"\bCREATE\s+TABLE\s+psc\s*\(", sql, re.IGNORECASE)
               for sql in found["schema"].values()), "no schema file creates table psc"


def test_the_console_script_runs_help_init_and_info(install):
    """The venv's `catscan` command prints its help, creates a database and describes it."""
    helped = _checked(install.run(install.script, "--help"), "catscan --help")
    assert helped.stdout.startswith("usage: catscan")
    db = install.workdir / f"{install.kind}.duckdb"
    created = _checked(install.run(install.script, "init", "--db", db), "catscan init")
    assert db.is_file(), created.stdout
    assert "schema version" in created.stdout
    described = _checked(install.run(install.script, "info", "--db", db), "catscan info")
    assert "psc" in described.stdout
    assert "Traceback" not in described.stderr


def test_the_grammar_and_the_saved_queries_come_with_the_install(install):
    """`catscan queries` lists every queries/*.catscan of the repository and `catscan
    explain` compiles with the grammar file, both read from the install."""
    listed = _checked(install.run(install.script, "queries"), "catscan queries")
    shipped = sorted(p.stem for p in (install.source / "queries").glob("*.catscan"))
    assert len(shipped) >= 10
    assert sorted(line.split()[0] for line in listed.stdout.splitlines()[:len(shipped)]) == \
        shipped
    db = install.workdir / f"{install.kind}-language.duckdb"
    _checked(install.run(install.script, "init", "--db", db), "catscan init")
    explained = _checked(install.run(install.script, "explain", "select basic from psc "
                                     "within 2 arcmin of 10.68 41.27", "--db", db),
                         "catscan explain")
    assert "region 1: cone within 120\" of (10.680000, +41.270000)" in explained.stdout


def test_a_regular_install_puts_udfs_loaders_and_schema_inside_catscan(regular_install):
    """site-packages holds catscan/ with udfs/, loaders/ and schema/*.sql inside, and no
    top-level udfs, loaders or schema; the wheel installed nothing but catscan."""
    site = regular_install.site_packages
    package = site / "catscan"
    assert (package / "udfs" / "__init__.py").is_file()
    assert (package / "loaders" / "__init__.py").is_file()
    assert sorted(p.name for p in (package / "schema").glob("*.sql")) == \
        sorted(p.name for p in (regular_install.source / "schema").glob("*.sql"))
    for generic in ("udfs", "loaders", "schema"):
        assert not (site / generic).exists(), f"a top-level {generic} in site-packages"
        assert not (site / f"{generic}.py").exists(), f"a top-level {generic}.py"
    records = list(site.glob("catscan-*.dist-info/RECORD"))
    assert len(records) == 1, records
    installed = {line.split(",")[0].split("/")[0]
                 for line in records[0].read_text().splitlines() if line}
    assert {name for name in installed if name != ".."} == {"catscan", records[0].parent.name}


def test_an_editable_install_follows_the_source_tree(editable_install):
    """With `pip install -e`, a module added to the source's loaders/ directory imports
    at once as catscan.loaders.<name>, from the source tree."""
    added = editable_install.source / "loaders" / "editable_probe.py"
    added.write_text("ANSWER = 42\n")
    try:
        result = _checked(editable_install.run(
            editable_install.python, "-c",
            "import catscan.loaders.editable_probe as m; print(m.ANSWER, m.__file__)"),
            "importing a module added to the source")
    finally:
        added.unlink()
    answer, file = result.stdout.split()
    assert answer == "42"
    assert Path(file).resolve() == added.resolve()
