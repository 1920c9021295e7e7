"""The profiling report model and its Markdown and HTML renderings.

The report model and its two renderings: Markdown with PNG files beside it, and one
self-contained HTML page with the same PNGs embedded as base64.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Text",
    "Bullets",
    "Preformatted",
    "Table",
    "Figure",
    "Section",
    "Report",
    "ReportFiles",
    "render_markdown",
    "render_html",
    "write_report",
]

FIGURE_DIR = "figures"


@dataclass(frozen=True)
class Text:
    """A paragraph of plain text."""

    body: str


@dataclass(frozen=True)
class Bullets:
    """An unordered list of plain-text items."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Preformatted:
    """Fixed-width text (tool output), shown verbatim."""

    body: str


@dataclass(frozen=True)
class Table:
    """Attributes: headers (c,), rows (r, c) of already formatted cells, caption."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.headers):
                raise ValueError(f"table row {row!r} has {len(row)} cells, expected {len(self.headers)}")


@dataclass(frozen=True)
class Figure:
    """Attributes: name (file stem, ``[a-z0-9_]``), png (the image bytes), caption."""

    name: str
    png: bytes
    caption: str

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c == "_" for c in self.name):
            raise ValueError(f"figure name must be letters, digits and '_', got {self.name!r}")
        if not self.png.startswith(b"\x89PNG"):
            raise ValueError(f"figure {self.name!r} is not a PNG")


Block = Text | Bullets | Preformatted | Table | Figure


@dataclass(frozen=True)
class Section:
    """A titled run of blocks (one ``##`` heading)."""

    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Report:
    """A titled report: its sections, in order."""

    title: str
    sections: tuple[Section, ...]

    @property
    def figures(self) -> tuple[Figure, ...]:
        """Every figure of every section, in document order."""
        return tuple(b for s in self.sections for b in s.blocks if isinstance(b, Figure))


@dataclass(frozen=True)
class ReportFiles:
    """Paths written by :func:`write_report`: the Markdown, the HTML page and the PNG figures."""

    markdown: Path
    html: Path
    figures: tuple[Path, ...]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    """The report as Markdown; figures are linked as ``figures/<name>.png`` beside it."""
    out = [f"# {report.title}", ""]
    for section in report.sections:
        out += [f"## {section.title}", ""]
        for block in section.blocks:
            if isinstance(block, Text):
                out += [block.body, ""]
            elif isinstance(block, Bullets):
                out += [f"- {item}" for item in block.items] + [""]
            elif isinstance(block, Preformatted):
                out += ["```text", block.body.rstrip("\n"), "```", ""]
            elif isinstance(block, Table):
                if block.caption:
                    out += [f"*{block.caption}*", ""]
                out.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
                out.append("|" + "|".join("---" for _ in block.headers) + "|")
                out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
                out.append("")
            else:
                out += [f"![{block.caption}]({FIGURE_DIR}/{block.name}.png)", "", f"*{block.caption}*", ""]
    return "\n".join(out)


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
figure { margin: 1em 0 2em; } img { max-width: 100%; border: 1px solid #ddd; }
caption, figcaption { font-style: italic; text-align: left; padding: 0.3em 0; }
"""


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page, figures embedded as base64 PNG."""
    esc = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(report.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(report.title)}</h1>",
    ]
    for section in report.sections:
        out.append(f"<h2>{esc(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, Text):
                out.append(f"<p>{esc(block.body)}</p>")
            elif isinstance(block, Bullets):
                out.append("<ul>" + "".join(f"<li>{esc(item)}</li>" for item in block.items) + "</ul>")
            elif isinstance(block, Preformatted):
                out.append(f"<pre>{esc(block.body)}</pre>")
            elif isinstance(block, Table):
                out.append("<table>")
                if block.caption:
                    out.append(f"<caption>{esc(block.caption)}</caption>")
                out.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in block.headers) + "</tr>")
                for row in block.rows:
                    out.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
                out.append("</table>")
            else:
                data = base64.b64encode(block.png).decode("ascii")
                out.append(
                    f'<figure><img alt="{esc(block.caption)}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{esc(block.caption)}</figcaption></figure>"
                )
    out.append("</body></html>")
    return "\n".join(out)


def write_report(report: Report, directory: str | Path) -> ReportFiles:
    """Write ``report.md``, ``report.html`` and ``figures/*.png`` into ``directory``."""
    root = Path(directory)
    (root / FIGURE_DIR).mkdir(parents=True, exist_ok=True)
    names = [f.name for f in report.figures]
    if len(set(names)) != len(names):
        raise ValueError(f"figure names must be unique, got {names}")
    figure_paths = []
    for figure in report.figures:
        path = root / FIGURE_DIR / f"{figure.name}.png"
        path.write_bytes(figure.png)
        figure_paths.append(path)
    markdown = root / "report.md"
    markdown.write_text(render_markdown(report), encoding="utf-8")
    page = root / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    return ReportFiles(markdown, page, tuple(figure_paths))
