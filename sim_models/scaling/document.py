"""A report as a list of blocks (headings, paragraphs, lists, tables, images), written out as
Markdown and as a self-contained HTML page from the same blocks."""

import html
from dataclasses import dataclass, field

__all__ = ["Document"]

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;"
          "padding:0 1rem;line-height:1.45}table{border-collapse:collapse;margin:1rem 0;"
          "font-size:.9rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;vertical-align:top}"
          "th{background:#f3f3f3}td.num{text-align:right;white-space:nowrap}"
          "img{max-width:100%;border:1px solid #ddd}code{background:#f6f6f6}")


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
        """A table; ``numeric`` are the indices of right-aligned columns."""
        self.blocks.append(("table", list(headers), [list(map(str, row)) for row in rows],
                            set(numeric)))

    def image(self, path, caption):
        """A picture at ``path`` (relative to the report), with its caption."""
        self.blocks.append(("image", path, caption))

    def markdown(self):
        lines = [f"# {self.title}", ""]
        for kind, *content in self.blocks:
            if kind == "heading":
                lines += ["#" * content[0] + " " + content[1], ""]
            elif kind == "paragraph":
                lines += [content[0], ""]
            elif kind == "bullets":
                lines += [f"- {item}" for item in content[0]] + [""]
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
            elif kind == "table":
                headers, rows, numeric = content
                head = "".join(f"<th>{escape(cell)}</th>" for cell in headers)
                body = "".join(
                    "<tr>" + "".join(
                        f"<td class='num'>{escape(cell)}</td>" if index in numeric
                        else f"<td>{escape(cell)}</td>" for index, cell in enumerate(row))
                    + "</tr>" for row in rows)
                parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
                             "</table>")
            else:
                path, caption = content
                parts.append(f"<figure><img src='{escape(path)}' alt='{escape(caption)}'>"
                             f"<figcaption>{escape(caption)}</figcaption></figure>")
        parts.append("</body></html>")
        return "\n".join(parts)
