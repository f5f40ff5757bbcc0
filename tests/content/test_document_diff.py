"""The one comparison of two configuration documents (content/document_diff.py) that the web's
revision diff, impact and the proposal's tailored-versus-standard read."""
from __future__ import annotations

from configurator.content.document_diff import diff_documents, difference


def line(module: str, **values) -> dict:
    return {"module": module, "name": module.upper(), "quantity": 1, "unit_price": 10,
            "discount_percent": 0, "total": 10, "billing": "one_time",
            "reasons": [{"rule": f"r-{module}", "text": "because"}], **values}


def doc(lines=(), approvals=(), recommendations=(), exclusions=(), status="ok", conflicts=(),
        **totals) -> dict:
    return {"status": status, "lines": list(lines), "approvals": list(approvals),
            "recommendations": list(recommendations), "exclusions": list(exclusions),
            "conflicts": list(conflicts),
            "totals": {"one_time": 0, "monthly": 0, "yearly": 0, "annual_recurring": 0,
                       "first_year": 0, "currency": "EUR", **totals}}


def test_lines_added_and_changed_come_in_the_newer_order_removed_in_the_older():
    a = doc([line("x"), line("y"), line("z"), line("same")])
    b = doc([line("same"), line("new2"), line("z", quantity=2, total=20), line("new1"),
             line("y", reasons=[])])
    diff = diff_documents(a, b)
    assert [l["module"] for l in diff.lines_added] == ["new2", "new1"]
    assert [l["module"] for l in diff.lines_removed] == ["x"]
    assert [(c.module, c.keys, c.delta) for c in diff.lines_changed] == [
        ("z", ["quantity", "total"], 10), ("y", ["reasons"], 0)]
    assert diff.lines_changed[0].old is a["lines"][2] and diff.lines_changed[0].new is b["lines"][2]


def test_differences_are_exact_in_cents_and_whole_amounts_are_integers():
    assert difference(0.1, 0.3) == 0.2 and isinstance(difference(10.5, 11.5), int)
    assert difference(1_000_000.01, 999_999.99) == -0.02
    diff = diff_documents(doc(first_year=0.1, monthly=100), doc(first_year=0.3, monthly=100))
    totals = {t.key: (t.old, t.new, t.delta) for t in diff.totals}
    assert list(totals) == ["one_time", "monthly", "yearly", "annual_recurring", "first_year"]
    assert totals["first_year"] == (0.1, 0.3, 0.2) and totals["monthly"] == (100, 100, 0)
    assert diff.currency == "EUR"


def test_a_total_missing_from_an_older_document_reads_as_zero():
    old = doc(first_year=5)
    del old["totals"]["annual_recurring"]
    diff = diff_documents(old, doc(first_year=5, annual_recurring=7))
    assert [t.delta for t in diff.totals] == [0, 0, 0, 7, 0]


def test_approvals_by_role_recommendations_and_exclusions_by_module():
    finance = {"role": "finance", "reasons": [{"rule": "a", "text": "big"}]}
    legal = {"role": "legal", "reasons": []}
    a = doc(approvals=[finance, legal], recommendations=[line("r1")], exclusions=[line("e1")],
            status="approval_required", conflicts=[{}])
    b = doc(approvals=[{**finance, "reasons": []}, {"role": "sales", "reasons": []}],
            recommendations=[line("r2")], exclusions=[line("e1"), line("e2")])
    diff = diff_documents(a, b)
    assert [x["role"] for x in diff.approvals_added] == ["sales"]
    assert [x["role"] for x in diff.approvals_removed] == ["legal"]
    assert diff.approvals_changed == [(finance, {**finance, "reasons": []})]
    assert [x["module"] for x in diff.recommendations_added] == ["r2"]
    assert [x["module"] for x in diff.recommendations_removed] == ["r1"]
    assert [x["module"] for x in diff.exclusions_added] == ["e2"] and not diff.exclusions_removed
    assert diff.status == ("approval_required", "ok") and diff.conflicts == (1, 0)


def test_the_same_document_has_no_differences():
    a = doc([line("x")], approvals=[{"role": "finance", "reasons": []}], first_year=10)
    diff = diff_documents(a, a)
    assert not (diff.lines_added or diff.lines_removed or diff.lines_changed
                or diff.approvals_added or diff.approvals_removed or diff.approvals_changed)
    assert all(t.delta == 0 for t in diff.totals)
