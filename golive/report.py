"""Self-contained HTML reports (figures inlined as base64 PNG) and JUnit XML, for every
command that writes a report folder: scenarios, the demo, reconciliation.

Usage::

    report = HtmlReport("erp-outage", subtitle="sim, 5 replications")
    report.verdict(passed=False, text="2 of 3 SLOs met")
    section = report.section("Backlog")
    section.paragraph("Jobs in the middleware over time.")
    section.figure(fig, caption="mean across replications")   # a matplotlib Figure
    section.table(["flow", "p95 (s)"], [["close_to_order", 12.3]])
    report.write(folder / "report.html")

Nothing in the page loads from the network; it opens from a file in any browser.
"""

from __future__ import annotations

import base64
import html
import io
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

__all__ = ["HtmlReport", "JunitCase", "Section", "figure_to_data_uri", "write_junit"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#1d2330;padding:0 1rem}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #d8dce3;padding-bottom:.3rem;margin-top:2rem}
.sub{color:#5b6475;margin-top:0}.verdict{padding:.6rem 1rem;border-radius:6px;font-weight:600}
.pass{background:#e3f6e8;color:#135c2a}.fail{background:#fbe5e5;color:#8a1c1c}
table{border-collapse:collapse;margin:.8rem 0;font-size:.9rem}
th,td{border:1px solid #d8dce3;padding:.3rem .6rem;text-align:left}th{background:#f3f5f8}
td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1rem 0}figure img{max-width:100%}figcaption{color:#5b6475;font-size:.85rem}
pre{background:#f3f5f8;padding:.6rem;overflow:auto;font-size:.85rem}
"""


def figure_to_data_uri(fig: Any, dpi: int = 110) -> str:
    """A matplotlib Figure as a ``data:image/png;base64,...`` URI.

    Build figures with ``matplotlib.figure.Figure()`` (no pyplot, no GUI backend); a
    pyplot figure is closed here so it does not pile up.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, float):
        text = f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
        return f'<td class="num">{text}</td>'
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    return f"<td>{html.escape(str(value))}</td>"


@dataclass
class Section:
    """A titled part of the report; its parts render in the order they were added."""

    title: str
    parts: list[str] = field(default_factory=list)

    def paragraph(self, text: str) -> Section:
        self.parts.append(f"<p>{html.escape(text)}</p>")
        return self

    def preformatted(self, text: str) -> Section:
        self.parts.append(f"<pre>{html.escape(text)}</pre>")
        return self

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Section:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
        self.parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        return self

    def figure(self, fig: Any, caption: str = "") -> Section:
        """Inline a matplotlib Figure as a base64 PNG."""
        uri = figure_to_data_uri(fig)
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        alt = html.escape(caption or self.title)
        self.parts.append(f'<figure><img src="{uri}" alt="{alt}">{cap}</figure>')
        return self

    def render(self) -> str:
        return f"<section><h2>{html.escape(self.title)}</h2>{''.join(self.parts)}</section>"


@dataclass
class HtmlReport:
    """One self-contained HTML page: a title, an optional verdict, sections."""

    title: str
    subtitle: str = ""
    sections: list[Section] = field(default_factory=list)
    _verdict: str = ""

    def verdict(self, passed: bool, text: str, label: str | None = None) -> None:
        """The banner: ``PASS``/``FAIL`` unless ``label`` says otherwise (a failing style)."""
        css = "pass" if passed else "fail"
        label = label or ("PASS" if passed else "FAIL")
        self._verdict = f'<p class="verdict {css}">{label}: {html.escape(text)}</p>'

    def section(self, title: str) -> Section:
        sec = Section(title)
        self.sections.append(sec)
        return sec

    def render(self) -> str:
        sub = f'<p class="sub">{html.escape(self.subtitle)}</p>' if self.subtitle else ""
        body = "".join(s.render() for s in self.sections)
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head>"
            f"<body><h1>{html.escape(self.title)}</h1>{sub}{self._verdict}{body}</body></html>"
        )

    def write(self, path: Path) -> Path:
        path.write_text(self.render(), encoding="utf-8")
        return path


@dataclass(frozen=True)
class JunitCase:
    """One check: passed when ``failure`` is empty; ``skipped`` says why it did not count."""

    name: str
    classname: str
    failure: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    skipped: str = ""


def write_junit(path: Path, suite: str, cases: Sequence[JunitCase]) -> Path:
    """Write a JUnit XML file with one ``testsuite`` that CI systems can read."""
    failures = sum(1 for c in cases if c.failure and not c.skipped)
    skipped = sum(1 for c in cases if c.skipped)
    root = ET.Element("testsuites", name=suite, tests=str(len(cases)), failures=str(failures))
    ts = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
    )
    for case in cases:
        tc = ET.SubElement(ts, "testcase", name=case.name, classname=case.classname)
        if case.properties:
            props = ET.SubElement(tc, "properties")
            for key, value in case.properties.items():
                ET.SubElement(props, "property", name=key, value=value)
        if case.skipped:
            ET.SubElement(tc, "skipped", message=case.skipped)
        elif case.failure:
            ET.SubElement(tc, "failure", message=case.failure).text = case.failure
    ET.indent(root)
    path.write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
    return path
