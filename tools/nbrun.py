"""What went wrong in an executed notebook: the test suite and the benchmark read it the same way."""

from __future__ import annotations


def notebook_errors(nb) -> list[str]:
    """Error outputs, and tracebacks printed on stderr, of the code cells not tagged raises-exception."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "raises-exception" in cell.metadata.get("tags", []):
            continue
        for o in cell.get("outputs", []):
            if o.output_type == "error":
                out.append(f"{o.ename}: {o.evalue} in cell: {cell.source[:120]}")
            elif o.output_type == "stream" and o.name == "stderr" and "Traceback" in o.text:
                out.append(f"traceback on stderr in cell: {cell.source[:120]}\n{o.text[-800:]}")
    return out
