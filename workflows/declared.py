"""Human-readable views of the search declarations: `b2dark searches` and the README table."""

from __future__ import annotations

from processors import registry
from processors.spec import PeakScan, SearchSpec, SidebandCounting, WindowCounting


def plan_line(spec: SearchSpec) -> str:
    p = spec.stats
    if isinstance(p, PeakScan):
        return f"peak scan in {p.axis} (hist {p.hist}, +-{p.n_sigma:g} sigma windows)"
    if isinstance(p, WindowCounting):
        return f"{p.method} counting in elliptical windows of ({p.x}, {p.y}), +-{p.window_n_sigma:g} sigma"
    if isinstance(p, SidebandCounting):
        return f"cut-and-count in {p.x} with data sidebands, window +-{p.window_n_sigma:g} sigma"
    return type(p).__name__


def describe(name: str) -> str:
    s = registry.get(name)
    wp = s.working_point()
    lines = [
        f"{s.name}: {s.title}",
        f"  follows       {s.reference}",
        f"  luminosity    {s.lumi.fb:g} fb^-1 ({s.lumi.source})",
        f"  processor     {s.processor}",
        f"  recipe        samples/recipes/{s.recipe}.yaml  (`b2dark samples {s.name}`)",
        f"  backgrounds   {', '.join(s.backgrounds)}",
        f"  data          {', '.join(d.name + ('  [default]' if i == 0 else '') for i, d in enumerate(s.data)) or '-'}",
    ]
    for m in s.signals:
        rc = ", ".join(f"{r.name} ({r.label})" for r in m.recasts) or "-"
        lines.append(f"  signal        {m.name}: process {m.process}, hypotheses keyed by {m.params}; recasts {rc}")
    lines.append(f"  statistics    {plan_line(s)}, {round(s.cl * 100)} % CL")
    lines.append("  systematics   " + (", ".join(getattr(x, "name", type(x).__name__) for x in s.systematics) or "-"))
    lines.append(
        "  working point " + ", ".join(f"{k}={v}" for k, v in wp.model_dump().items())
        if wp.model_dump()
        else "  working point -"
    )
    if s.published:
        lines.append(f"  published     {s.published.reference}")
    return "\n".join(lines)


def summary_table() -> str:
    rows = [(s.name, f"{s.lumi.fb:g}", s.title, plan_line(s)) for s in registry.searches().values()]
    rows.sort()
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(f"{a:<{w[0]}}  {b:>{w[1]}} fb^-1  {c:<{w[2]}}  {d}" for a, b, c, d in rows)


def markdown_table() -> str:
    lines = ["| target | search | luminosity | statistics | follows |", "|---|---|---|---|---|"]
    for s in sorted(registry.searches().values(), key=lambda s: s.name):
        lines.append(f"| `make {s.name}` | {s.title} | {s.lumi.fb:g} fb^-1 | {plan_line(s)} | {s.reference} |")
    return "\n".join(lines)
