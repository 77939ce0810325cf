"""A report as a list of blocks (headings, paragraphs, lists, tables, images, references),
written out as Markdown and as a self-contained HTML page from the same blocks.

The page fits its window: text and table cells wrap between words and long addresses anywhere
(only the cells of numeric columns keep to one line, and a numeric cell holds a number and
nothing else); a table still wider than the page scrolls sideways in its own box, never the
page; images scale down.
"""

import html
import re
from dataclasses import dataclass, field

__all__ = ["Document"]

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:80rem;margin:2rem auto;"
          "padding:0 1rem;line-height:1.45;overflow-wrap:break-word}h1{font-size:1.6rem}"
          "div.table{overflow-x:auto;margin:1rem 0;max-width:100%}"
          "table{border-collapse:collapse;font-size:.85rem}"
          "th,td{border:1px solid #ccc;padding:.25rem .5rem;vertical-align:top}"
          "th{background:#f3f3f3;overflow-wrap:normal}td.num{text-align:right;white-space:nowrap}"
          "img{max-width:100%;border:1px solid #ddd}figcaption{font-style:italic}")
#: What a cell of a numeric column may hold: a number (thousands separators, decimals, a sign,
#: a trailing % or x), or "-" for no value. Anything longer would not wrap.
_NUMERIC = re.compile(r"-|[-+]?\d[\d,]*(\.\d+)?[%x]?")


@dataclass
class Document:
    """Blocks of a report, in order. ``title`` is the first heading."""
    title: str
    blocks: list = field(default_factory=list)

    def heading(self, text, level=2):
        self.blocks.append(("heading", level, text))

    def paragraph(self, text):
        self.blocks.append(("paragraph", text))

    def bullets(self, items):
        self.blocks.append(("bullets", list(items)))

    def table(self, headers, rows, numeric=()):
        """A table; ``numeric`` are the indices of right-aligned columns, whose cells must be
        numbers (``ValueError`` naming the cell otherwise)."""
        rows = [list(map(str, row)) for row in rows]
        for row in rows:
            for index in numeric:
                if not _NUMERIC.fullmatch(row[index]):
                    raise ValueError(f"column {headers[index]!r} is numeric, not {row[index]!r}")
        self.blocks.append(("table", list(headers), rows, set(numeric)))

    def image(self, path, caption):
        """A picture at ``path`` (relative to the report), with its caption."""
        self.blocks.append(("image", path, caption))

    def references(self, entries):
        """A list of sources: (key, citation, addresses) each, the addresses as links."""
        self.blocks.append(("references", [(key, cite, tuple(urls))
                                           for key, cite, urls in entries]))

    def markdown(self):
        lines = [f"# {self.title}", ""]
        for kind, *content in self.blocks:
            if kind == "heading":
                lines += ["#" * content[0] + " " + content[1], ""]
            elif kind == "paragraph":
                lines += [content[0], ""]
            elif kind == "bullets":
                lines += [f"- {item}" for item in content[0]] + [""]
            elif kind == "references":
                lines += [f"- [{key}] {cite}: " + ", ".join(f"<{url}>" for url in urls)
                          for key, cite, urls in content[0]] + [""]
            elif kind == "table":
                headers, rows, numeric = content
                lines.append("| " + " | ".join(headers) + " |")
                lines.append("|" + "|".join("---:" if index in numeric else "---"
                                            for index in range(len(headers))) + "|")
                lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
                          for row in rows]
                lines.append("")
            else:
                path, caption = content
                lines += [f"![{caption}]({path})", "", f"*{caption}*", ""]
        return "\n".join(lines)

    def html(self):
        escape = html.escape
        parts = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'>",
                 f"<title>{escape(self.title)}</title><style>{_STYLE}</style></head><body>",
                 f"<h1>{escape(self.title)}</h1>"]
        for kind, *content in self.blocks:
            if kind == "heading":
                parts.append(f"<h{content[0]}>{escape(content[1])}</h{content[0]}>")
            elif kind == "paragraph":
                parts.append(f"<p>{escape(content[0])}</p>")
            elif kind == "bullets":
                parts.append("<ul>" + "".join(f"<li>{escape(item)}</li>"
                                              for item in content[0]) + "</ul>")
            elif kind == "references":
                parts.append("<ul>" + "".join(
                    f"<li id='source-{escape(key)}'>[{escape(key)}] {escape(cite)}: " + ", ".join(
                        f"<a href='{escape(url)}'>{escape(url)}</a>" for url in urls) + "</li>"
                    for key, cite, urls in content[0]) + "</ul>")
            elif kind == "table":
                headers, rows, numeric = content
                head = "".join(f"<th>{escape(cell)}</th>" for cell in headers)
                body = "".join(
                    "<tr>" + "".join(
                        f"<td class='num'>{escape(cell)}</td>" if index in numeric
                        else f"<td>{escape(cell)}</td>" for index, cell in enumerate(row))
                    + "</tr>" for row in rows)
                parts.append(f"<div class='table'><table><thead><tr>{head}</tr></thead>"
                             f"<tbody>{body}</tbody></table></div>")
            else:
                path, caption = content
                parts.append(f"<figure><img src='{escape(path)}' alt='{escape(caption)}'>"
                             f"<figcaption>{escape(caption)}</figcaption></figure>")
        parts.append("</body></html>")
        return "\n".join(parts)
