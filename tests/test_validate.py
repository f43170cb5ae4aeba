"""validate: one whole-number check and one overcommit-mode check, with messages that say what to pass."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kernel_helpers import validate


def test_a_whole_number_in_range_comes_back_as_an_int():
    assert validate.whole("n", 5, 1, 10) == 5
    assert validate.whole("n", np.int64(7), 1) == 7 and type(validate.whole("n", np.int64(7))) is int
    assert validate.whole("n", -3) == -3  # no bounds: any whole number


@pytest.mark.parametrize("value", [True, False, 1.0, 1.5, math.nan, "3", None])
def test_anything_but_a_whole_number_is_a_type_error_naming_the_argument(value):
    with pytest.raises(TypeError, match=r"^step_mib must be a whole number, not "):
        validate.whole("step_mib", value, 1, 1024)


def test_a_float_gets_the_fix_and_a_hint_ends_the_message():
    with pytest.raises(TypeError, match=r"write int\(2\.0\) if a whole number is meant\)$"):
        validate.whole("n", 2.0)
    with pytest.raises(TypeError, match=r"; e\.g\. 8 \* GiB$"):
        validate.whole("nbytes", "8G", what="a whole number of bytes", hint="e.g. 8 * GiB")


@pytest.mark.parametrize("lo, hi, value, says", [
    (1, 1024, 0, "n must be between 1 and 1024, got 0"),
    (1, 1024, 1025, "n must be between 1 and 1024, got 1025"),
    (1, None, 0, "n must be 1 or more, got 0"),
    (None, 9, 10, "n must be 9 or less, got 10"),
])
def test_out_of_range_is_a_value_error_with_the_range(lo, hi, value, says):
    with pytest.raises(ValueError) as info:
        validate.whole("n", value, lo, hi)
    assert str(info.value) == says


def test_the_overcommit_mode_is_0_1_or_2():
    assert [validate.mode(m) for m in (0, 1, 2)] == [0, 1, 2]
    with pytest.raises(ValueError, match=r"overcommit mode must be 0, 1 or 2 \(vm.overcommit_memory\), got 3"):
        validate.mode(3)
    for bad in ("2", True, 2.0):
        with pytest.raises(TypeError, match="overcommit mode must be 0, 1 or 2"):
            validate.mode(bad)
