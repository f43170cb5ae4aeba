"""The chapters' measured claims, checked on this machine's kernel (the same checks run in each
kernel of ``make test-kernels``). A claim that does not hold here fails with its figures."""

from __future__ import annotations

import os

import pytest

from tests.claims import CLAIMS, load_all, run

load_all()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.mark.parametrize("cid", sorted(CLAIMS))
def test_claim_holds_on_this_kernel(cid, built):
    c = CLAIMS[cid]
    if c.needs_root and os.geteuid() != 0:
        pytest.skip("needs root")
    rec = run(c)
    if rec["status"] == "skipped":
        pytest.skip(rec["figures"])
    assert rec["status"] == "holds", f"{cid}: {rec['status']}: {rec['figures']}\n{rec.get('trace', '')}"


def test_an_unknown_claim_id_is_refused_with_the_list_to_pick_from(capsys):
    from tests.claims.__main__ import main

    assert main(["--only", "2.3-no-such-claim"]) == 2
    assert "unknown claim ids: 2.3-no-such-claim (see --list)" in capsys.readouterr().err
