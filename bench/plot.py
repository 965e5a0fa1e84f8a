#!/usr/bin/env python3
"""Draws docs/benchmarks-growth.png: how each figure grows with the work, from the JSON records
the benchmarks append (results.jsonl; see bench/support/report.ts). A dev-time tool:
pip install matplotlib, then  python3 bench/plot.py results.jsonl [more.jsonl ...] out.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PANELS = [
    # title, bench, figures, x label, y label, log x, log y
    ("Change → commit latency by rate", "change-latency",
     ["change → local commit p99", "change → pushed p99"], "changes/s", "ms", True, True),
    ("Change → commit latency by objects", "change-latency-objects",
     ["change → local commit p99", "change → pushed p99"], "objects in the repository", "ms", True, True),
    ("Initial snapshot", "snapshot", ["snapshot pushed", "fast-import same tree"], "objects in the cluster", "ms", True, True),
    ("Memory of kubescribe", "memory",
     ["VmRSS after sync", "VmHWM (peak)", "VmRSS after a full GC", "V8 heap retained (after a full GC)"], "objects watched", "MiB", True, False),
    ("Commit rate vs git fast-import", "commit",
     ["commit rate GitWriter / fast-import", "commit + pack + push / fast-import"], "files in the repository", "× fast-import", True, False),
    ("Webhook server-side p99", "webhook",
     ["admission handler p99 (observe)", "admission onRequest→onResponse p99", "bare onRequest→onResponse p99"], "requests/s", "ms", True, True),
    ("Correlation store under a flood", "flood", ["server VmRSS under a flood", "server heap retained (after a full GC)"], "unmatched reviews sent", "MiB", False, False),
    ("kubescribe CPU per change", "change-latency", ["kubescribe CPU per change"], "changes/s", "µs", True, True),
]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    records = []
    for path in sys.argv[1:-1]:
        with open(path, encoding="utf-8") as f:
            records += [json.loads(line) for line in f if line.strip()]
    fig, axes = plt.subplots(2, 4, figsize=(21, 9.5))
    for ax, (title, bench, figures, xlabel, ylabel, logx, logy) in zip(axes.flat, PANELS):
        drawn = False
        for figure in figures:
            series = {}
            for r in records:  # the last record of a figure (and series) at an x wins
                if r["bench"] == bench and r["figure"] == figure and r.get("x"):
                    series.setdefault(r.get("series"), {})[r["x"]["value"]] = (r["value"], r["loadavg"])
            for name, points in sorted(series.items(), key=lambda kv: str(kv[0])):
                xs = sorted(points)
                ax.plot(xs, [points[x][0] for x in xs], marker="o", label=f"{figure}, {name}" if name else figure)
                for x in xs:
                    ax.annotate(f"load {points[x][1]:g}", (x, points[x][0]), textcoords="offset points", xytext=(4, 4), fontsize=6, color="grey")
                drawn = True
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if logx:
            ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        if drawn:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle("kubescribe: how each figure grows with the work (2 shared cores; load average next to each point)", fontsize=11)
    fig.tight_layout()
    fig.savefig(sys.argv[-1], dpi=110)


if __name__ == "__main__":
    main()
