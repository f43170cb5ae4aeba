"""The chapters' measured claims, checked on this machine's kernel (the same checks run in each
kernel of ``make test-kernels``). A claim that does not hold here fails with its figures."""

from __future__ import annotations

import os

import pytest

from tests.claims import CLAIMS, EXPECTED_SKIPS, load_all, run
from tests.claims.__main__ import machine

load_all()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.mark.parametrize("cid", sorted(CLAIMS))
def test_claim_holds_on_this_kernel(cid, built):
    c = CLAIMS[cid]
    if c.needs_root and os.geteuid() != 0:
        pytest.skip("needs root")
    rec = run(c)
    if rec["status"] == "skipped":
        expected = cid in EXPECTED_SKIPS and EXPECTED_SKIPS[cid][1](machine())
        # in CI a check that stops running must not look like one that passes
        assert expected or not IN_CI, f"{cid} skipped unexpectedly in CI: {rec['figures']}"
        pytest.skip(rec["figures"])
    assert rec["status"] == "holds", f"{cid}: {rec['status']}: {rec['figures']}\n{rec.get('trace', '')}"


def test_every_module_in_the_claims_package_is_loaded():
    from pathlib import Path

    import tests.claims as pkg

    here = {p.stem for p in Path(pkg.__file__).parent.glob("*.py") if not p.stem.startswith("_")}
    assert {m.rsplit(".", 1)[1] for m in pkg.modules()} == here
    assert {c.fn.__module__.rsplit(".", 1)[1] for c in CLAIMS.values()} == here  # each holds claims


def test_an_unknown_claim_id_is_refused_with_the_list_to_pick_from(capsys):
    from tests.claims.__main__ import main

    assert main(["--only", "2.3-no-such-claim"]) == 2
    assert "unknown claim ids: 2.3-no-such-claim (see --list)" in capsys.readouterr().err
