"""One self-contained HTML page of a run's report: summary, notes, held-out metrics, trials, figures.

Built only from what the plugin saved in the run's folder (:class:`~._store.RunFiles`); figures are
embedded as base64 PNG data URIs and the style is inline, so the page can be mailed or attached
to a ticket and opened anywhere, offline.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from html import escape
from typing import Any

from ._store import FIGURES, RunFiles

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; }
th { background: #f5f5f5; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.pruned td { color: #b35c00; } tr.failed td { color: #b00020; } tr.best td { font-weight: 600; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #666; font-size: 0.9em; } .muted { color: #777; }
"""


def _value(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return "" if value is None else str(value)


def _cell(value: Any) -> str:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f'<td class="num">{escape(_value(value))}</td>' if numeric else f"<td>{escape(_value(value))}</td>"


def _table(headers: list[str], rows: list[list[Any]], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        (f'<tr class="{escape(classes[i])}">' if classes else "<tr>") + "".join(_cell(v) for v in row) + "</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _summary(files: RunFiles) -> str:
    summary = files.summary
    if summary is None:
        return '<p class="muted">No summary: the run did not end (it failed or is still running).</p>'
    rows = [[key, value] for key, value in summary.items() if key != "notes"]
    notes = "".join(f"<li>{escape(str(note))}</li>" for note in summary.get("notes") or [])
    return _table(["key", "value"], rows) + (f"<h3>Notes</h3><ul>{notes}</ul>" if notes else "")


def _evaluation(files: RunFiles) -> str:
    result = files.evaluation
    if not result:
        return ""
    if result.get("task") == "regression":
        body = _table(["rows", "MAE", "RMSE", "R²"], [[result["rows"], result["mae"], result["rmse"], result["r2"]]])
    else:
        rows = [[r["class"], r["precision"], r["recall"], r["f1"], r["support"]] for r in result.get("per_class", [])]
        body = (
            f"<p>{result['rows']} rows; accuracy {result['accuracy']:.4f}, macro F1 {result['macro_f1']:.4f}</p>"
            + _table(["class", "precision", "recall", "F1", "support"], rows)
        )
    return f"<h2>Refit model on the held-out split</h2>{body}"


def _trials(files: RunFiles) -> str:
    if not files.trials:
        return '<p class="muted">No trial ended.</p>'
    best = (files.summary or {}).get("best_trial_id")
    names = sorted({name for trial in files.trials for name in trial["params"]})
    headers = ["trial", "state", "score", "± std", "epochs", "seconds", *names, "stop / error"]
    rows, classes = [], []
    for trial in files.trials:
        why = trial.get("error") or trial.get("stop_reason") or ""
        rows.append(
            [
                trial["trial_id"],
                trial["state"],
                trial.get("score"),
                trial.get("score_std"),
                trial.get("epochs"),
                trial.get("duration_s"),
                *[trial["params"].get(n) for n in names],
                why,
            ]
        )
        classes.append("best" if trial["trial_id"] == best else trial["state"])
    return _table(headers, rows, classes)


def _figures(files: RunFiles) -> str:
    parts = []
    for name, title in FIGURES.items():
        path = files.folder / name
        if path.is_file():
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            parts.append(
                f'<figure><img alt="{escape(title)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{escape(title)}</figcaption></figure>"
            )
        else:
            why = (files.figures.get(name) or {}).get("why_not") or "not drawn"
            parts.append(f'<p class="muted">{escape(title)}: {escape(str(why))}</p>')
    return "".join(parts)


def render(files: RunFiles) -> str:
    """The HTML page for one run's saved report files."""
    run = files.run
    started = run.get("started")
    when = dt.datetime.fromtimestamp(started).strftime("%Y-%m-%d %H:%M:%S") if started else "?"
    title = f"trainhooks {run.get('kind', 'run')} {run.get('run_id', files.folder.parent.name)}"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1><p class='muted'>experiment {escape(str(run.get('experiment')))}, "
        f"started {escape(when)}</p>"
        f"<h2>Summary</h2>{_summary(files)}{_evaluation(files)}"
        f"<h2>Figures</h2>{_figures(files)}"
        f"<h2>Trials</h2>{_trials(files)}"
        "</body></html>\n"
    )


__all__ = ["render"]
