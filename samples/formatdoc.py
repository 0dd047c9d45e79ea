"""Generate the column tables of samples/FORMAT.md from samples/eventformat.py.

    python -m samples.formatdoc          # rewrite the generated block of FORMAT.md
    python -m samples.formatdoc --check  # exit 1 if FORMAT.md is out of date (CI/tests)

Only the text between the BEGIN/END markers is generated; the rest of
FORMAT.md (conventions, compression measurement) is written by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from samples import eventformat as EF

BEGIN = "<!-- BEGIN GENERATED COLUMNS (python -m samples.formatdoc) -->"
END = "<!-- END GENERATED COLUMNS -->"
FORMAT_MD = Path(__file__).with_name("FORMAT.md")


def _table(rows: list[tuple[str, str, str, str, str]]) -> list[str]:
    out = ["| branch | type | unit | MC only | description |", "|---|---|---|---|---|"]
    out += [f"| `{b}` | {t} | {u or '-'} | {m} | {d} |" for b, t, u, m, d in rows]
    return out


def render_tables() -> str:
    lines = [BEGIN, "", "### Event-level columns", ""]
    lines += _table([(c.name, c.dtype, c.unit, "yes" if c.mc_only else "", c.doc) for c in EF.EVENT_COLUMNS])
    lines += ["", "### Signal-model truth columns (MC signal samples only)", ""]
    lines += _table([(c.name, c.dtype, c.unit, "yes", c.doc) for c in EF.MC_EVENT_COLUMNS])
    for coll, cols in EF.COLLECTIONS.items():
        mc_coll = all(c.mc_only for c in cols)
        lines += ["", f"### `{coll}`" + (" (MC only)" if mc_coll else ""), ""]
        rows = [(f"n{coll}", "int32", "", "yes" if mc_coll else "", f"number of {coll} entries in the event")]
        rows += [(f"{coll}_{c.name}", f"{c.dtype}[n{coll}]", c.unit, "yes" if c.mc_only else "", c.doc) for c in cols]
        lines += _table(rows)
    lines += ["", END]
    return "\n".join(lines)


def update(path: Path = FORMAT_MD) -> bool:
    """Rewrite the generated block; returns True if the file changed."""
    text = path.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{path}: markers {BEGIN!r} / {END!r} not found; add them where the tables go")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + render_tables() + tail
    if new != text:
        path.write_text(new)
        return True
    return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if FORMAT.md is out of date")
    args = ap.parse_args(argv)
    if args.check:
        if render_tables() not in FORMAT_MD.read_text():
            print(f"{FORMAT_MD} is out of date: run python -m samples.formatdoc", file=sys.stderr)
            return 1
        return 0
    print("updated" if update() else "up to date", FORMAT_MD)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
