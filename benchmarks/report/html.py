"""A report folder readable offline: index.html with embedded figures, figures beside it, results.json."""
from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..core.results import jsonable


@dataclass
class Section:
    title: str
    text: str = ""
    tables: list[tuple[list[str], list[list]]] = field(default_factory=list)  # (header, rows)
    figures: list[tuple[str, object]] = field(default_factory=list)           # (file name, matplotlib Figure)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _table(header, rows) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(folder, title: str, sections: list[Section], results: dict) -> Path:
    """Write ``folder/index.html`` (figures embedded as PNG, also saved beside it) and ``results.json``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    parts = [f"<h1>{html.escape(title)}</h1>"]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.text:
            parts.append(f"<p>{html.escape(section.text)}</p>")
        for header, rows in section.tables:
            parts.append(_table(header, rows))
        for name, fig in section.figures:
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
            import matplotlib.pyplot as plt

            plt.close(fig)
            (folder / name).write_bytes(buffer.getvalue())
            data = base64.b64encode(buffer.getvalue()).decode()
            parts.append(f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{html.escape(name)}</figcaption></figure>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;"
             "text-align:right}th{background:#eee}img{max-width:100%}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")
    (folder / "index.html").write_text(page, encoding="utf-8")
    (folder / "results.json").write_text(json.dumps(jsonable(results), indent=2))
    return folder / "index.html"
