"""English sentences in what a Korean notebook showed: the check behind the Korean output test.

``output_texts(nb)`` gathers everything an executed notebook shows a reader: printed text, rich
outputs (HTML with its tags removed), and the text inside its widgets' saved state (labels, button
descriptions, dropdown options, chart titles and hover text). ``english(text)`` finds English
sentences in it. What may stay in English: identifiers and code (`...`, words with _ . / = or
digits), quoted strings, the real `top`'s own screen, lines of the kernel log and of strace, and
verbatim quotes such as man pages (lines that ``i18n.quote`` starts with a bar).

Run it on an executed notebook: ``python -m tools.langcheck executed.ipynb``.
"""

from __future__ import annotations

import html
import json
import re
import sys

# Words that make a run of English words a sentence rather than a list of names.
FUNCTION_WORDS = frozenset("""
a an the is are was were be been being of to in on for with and or not no by this that these those it its
has have had will would can cannot could should may might must from at as than per each when which after
before only if then there here your you we our they their what why how do does did done into onto out up
""".split())
# A "word": letters only (identifiers with _ . / = digits or inner capitals are not words).
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’-]*|[^\sA-Za-z]+")
_CODE = re.compile(r"`[^`]*`|(?<![A-Za-z])'[^'\n]*'(?![A-Za-z])|\"[^\"\n]*\"|https?://\S+|(?<!\w)/[\w./-]+|[\w.]*[_=][\w.=]*|\w+\.\w[\w.]*")
# Lines that are another program's own output, shown on purpose.
_FOREIGN_LINE = re.compile(
    r"^\s*(top - |Tasks:|%Cpu|MiB Mem|KiB Mem|GiB Mem|MiB Swap|KiB Swap|GiB Swap|\s*PID\s+USER"
    r"|\d+\s+\S+\s+(-?\d+|rt)\s+-?\d+\s+[\d.]+[kmgtp]?\s+[\d.]+[kmgtp]?\s+[\d.]+[kmgtp]?\s+[RSDTtZIPX]\s)"  # a top row
    r"|^\s*\[\s*\d+\.\d+\]"        # the kernel log (dmesg)
    r"|^\s*\u2502 "                 # a verbatim quote (i18n.quote): a man page, another program's output
    r"|^\s*(mmap|brk|munmap|\+\+\+|---)\("  # strace lines
)


def _strip_html(text: str) -> str:
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
    text = re.sub(r"<br\s*/?>|</(p|div|tr|li|h\d)>", "\n", text, flags=re.I)
    text = re.sub(r"</t[dh]>", " | ", text, flags=re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def english(text: str) -> list[str]:
    """The English sentences (runs of three or more plain words with a function word) in ``text``;
    and every bare True/False."""
    found = []
    if isinstance(text, list):
        text = "".join(text)
    for line in text.splitlines():
        if _FOREIGN_LINE.search(line):
            continue
        line = _CODE.sub(" | ", line)
        run: list[str] = []
        for tok in _TOKEN.findall(line) + ["|"]:
            # a plain word, or an acronym (RES, SIGKILL), but not camelCase (MemAvailable)
            if tok[0].isascii() and tok[0].isalpha() and (tok.isupper() or tok[1:] == tok[1:].lower()):
                run.append(tok)
                continue
            if tok.strip() in {"", ",", "-", "(", ")", "—"} and run:
                continue  # punctuation inside a sentence
            words = [w for w in run if not (w.isupper() and len(w) > 1)]
            if (len(run) >= 3 and any(w.lower() in FUNCTION_WORDS for w in words)
                    and any(w.lower() not in FUNCTION_WORDS for w in words)):
                found.append(" ".join(run))
            run = []
        found += re.findall(r"(?<![A-Za-z0-9_'\"`])(True|False)(?![A-Za-z0-9_'\"`])", line)
    return found


_TEXT_KEYS = {"description", "tooltip", "placeholder", "value", "_options_labels", "text", "title", "name",
              "hovertext", "hovertemplate", "label", "button_style_label"}


def _widget_strings(state: object, key: str = "") -> list[str]:
    if isinstance(state, dict):
        out = []
        for k, v in state.items():
            if k.startswith("_") and k not in ("_options_labels", "_data", "_layout", "_py2js_layoutDelta",
                                               "_js2py_layoutDelta"):
                continue  # model names, the anywidget's JavaScript, binary buffers
            if k in ("layout", "style", "colorscale", "template", "font", "marker", "line"):
                continue
            out += _widget_strings(v, k)
        return out
    if isinstance(state, list):
        return [s for v in state for s in _widget_strings(v, key)]
    if isinstance(state, str) and key in _TEXT_KEYS and not state.startswith(("#", "rgb", "IPY_MODEL_")):
        return [state]
    return []


def output_texts(nb) -> list[tuple[str, str]]:
    """(where, text) for every output of every code cell, and for every saved widget's text."""
    out = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        for o in cell.get("outputs", []):
            where = f"cell {i}: {''.join(cell['source'])[:50]!r}"
            if o.get("output_type") == "stream":
                out.append((where, "".join(o["text"])))
            elif o.get("output_type") == "error":
                out.append((where, f"{o['ename']}: {o['evalue']}"))
            else:
                data = o.get("data", {})
                if "text/html" in data:
                    out.append((where, _strip_html("".join(data["text/html"]))))
                elif "text/markdown" in data:
                    out.append((where, "".join(data["text/markdown"])))
                elif "text/plain" in data and "application/vnd.jupyter.widget-view+json" not in data:
                    out.append((where, "".join(data["text/plain"])))
    widgets = nb.get("metadata", {}).get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    for model_id, model in widgets.get("state", {}).items():
        name = model.get("model_name", "")
        for s in _widget_strings(model.get("state", {})):
            out.append((f"widget {name} {model_id[:8]}", _strip_html(s) if "<" in s else s))
    return out


def english_in(nb) -> list[str]:
    """'where: sentence' for each English sentence an executed Korean notebook showed."""
    return [f"{where}: {s!r}" for where, text in output_texts(nb) for s in english(text)]


if __name__ == "__main__":
    problems = []
    for path in sys.argv[1:]:
        with open(path) as f:
            found = english_in(json.load(f))
        problems += [f"{path} {p}" for p in found]
    print("\n".join(problems) or "no English sentences")
    sys.exit(1 if problems else 0)
