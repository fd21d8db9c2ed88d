"""The figures of one `make bench` run, printed as one compact table at the end."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    target: str = ""
    ok: bool | None = None  # None: reported, no target

    @property
    def verdict(self) -> str:
        return "" if self.ok is None else ("PASS" if self.ok else "FAIL")


def table(rows: list[Row]) -> str:
    widths = [max(len(getattr(r, a)) for r in rows) for a in ("figure", "value", "target")]
    header = ("figure", "measured", "target")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + "  result"]
    lines.append("  ".join("-" * w for w in widths) + "  ------")
    for r in rows:
        cells = (r.figure.ljust(widths[0]), r.value.rjust(widths[1]), r.target.ljust(widths[2]))
        lines.append("  ".join(cells) + "  " + r.verdict)
    return "\n".join(lines)
