"""One table format for every benchmark: figure, value, target, ratio to the target."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    figure: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = True
    digits: int | None = None
    """Decimals for the value and the target (default: 1 and 0), for figures near 1."""

    def ratio(self) -> str:
        if self.target is None or self.target == 0:
            return ""
        ratio = self.value / self.target
        ok = ratio >= 1 if self.higher_is_better else ratio <= 1
        return f"{ratio:.2f}x {'ok' if ok else 'MISSED'}"


def print_table(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    header = ("figure", "value", "target", "ratio")
    lines = [
        (
            r.figure,
            f"{r.value:,.{1 if r.digits is None else r.digits}f} {r.unit}",
            ""
            if r.target is None
            else f"{'>=' if r.higher_is_better else '<='} "
            f"{r.target:,.{0 if r.digits is None else r.digits}f} {r.unit}",
            r.ratio(),
        )
        for r in rows
    ]
    widths = [max(len(str(x[i])) for x in [header, *lines]) for i in range(4)]
    for line in [header, tuple("-" * w for w in widths), *lines]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)))
