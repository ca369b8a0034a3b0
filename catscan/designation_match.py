"""Designations compare as printed: with or without the release file's trailing blank.

The release files pad the designation to 17 characters (``'00423433+4120433 '``, the 17th
a blank or a suffix letter) and catscan stores that value as it came, so that an export gives
back the file's exact text; a Gator table gives 16 characters (IRSA trims it). Every display
hides the blank, so users type ``designation = '00423433+4120433'``. One rewrite of the query
tree, run on every front end's SQL (the CatScan compiler, ``catscan sql``, TAP/ADQL and so
SCS), makes each comparison that involves a column named ``designation`` compare right-trimmed
values: the column becomes ``RTRIM(designation)`` and a text literal beside it loses its
trailing blanks, so both spellings match both storages. The stored value is untouched, which
is why this rewrites comparisons instead of trimming the data (docs/language.md).
"""

from __future__ import annotations

from sqlglot import exp

NAME = "designation"
COMPARISONS = (exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.NullSafeNEQ, exp.GT, exp.GTE, exp.LT,
               exp.LTE, exp.Like, exp.ILike, exp.In, exp.Between)
_OPERANDS = ("this", "expression", "low", "high")


def compare_trimmed(tree: exp.Expression) -> exp.Expression:
    """Rewrite ``tree`` in place (and return it) so that designation comparisons ignore
    trailing blanks. Idempotent: a column already under RTRIM is not wrapped again."""
    for node in list(tree.find_all(*COMPARISONS)):
        singles = {k: v for k in _OPERANDS if isinstance(v := node.args.get(k), exp.Expression)}
        items = list(node.args.get("expressions") or [])   # an IN list (not a subquery)
        if not any(_is_designation(o) for o in [*singles.values(), *items]):
            continue
        for key, operand in singles.items():
            node.set(key, _trimmed(operand))
        if items:
            node.set("expressions", [_trimmed(i) for i in items])
    return tree


def _is_designation(node: exp.Expression | None) -> bool:
    return isinstance(node, exp.Column) and node.name.lower() == NAME


def _trimmed(node: exp.Expression) -> exp.Expression:
    """The designation column under RTRIM, a text literal without trailing blanks, anything
    else as it is (another column keeps its own type: RTRIM of a number would fail)."""
    if _is_designation(node):
        return exp.Trim(this=node.copy(), position="TRAILING")
    if isinstance(node, exp.Literal) and node.is_string:
        return exp.Literal.string(node.this.rstrip(" "))
    return node
