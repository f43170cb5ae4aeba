"""The Korean output test's detector finds English sentences and lets names, code and quotes through."""

import pytest

from kernel_helpers.i18n import quote
from tools.langcheck import english, output_texts


@pytest.mark.parametrize("text", [
    "malloc_test가 5단계 후 SIGKILL로 강제 종료되었습니다",
    "vm.overcommit_memory=2 (모드 2), Committed_AS per step",
    "RES VIRT SHR %MEM",
    "  PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND",
    "[ 1234.567890] Out of memory: Killed process 4321 (malloc_test) total-vm:1060kB",
    "mmap(NULL, 1052672, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f590d194000",
    "`the kernel says this in code` 그리고 'a quoted string of words'",
    quote("A subset of the virtual address space (VIRT) representing the non-swapped physical memory"),
    "   1234 root      20   0   12.3m   4.5m   1.2m S   0.0   0.1   0:00.01 the program in a top row",
])
def test_names_code_and_quotes_are_not_english_sentences(text):
    assert english(text) == []


@pytest.mark.parametrize("text, found", [
    ("killed by SIGKILL", ["killed by SIGKILL"]),
    ("중지: exited with status 0", ["exited with status"]),
    ("예측: the kernel says ENOMEM", ["the kernel says ENOMEM"]),
    ("값: True", ["True"]),
    ("값이 True이면", ["True"]),
    ("3 of the 5 children were killed by the kernel", ["children were killed by the kernel"]),  # not a top row
    ("It doesn't matter, it's the kernel that decides", ["It doesn't matter it's the kernel that decides"]),
])
def test_english_sentences_and_booleans_are_found(text, found):
    assert english(text) == found


def test_widget_labels_and_html_outputs_are_read():
    nb = {
        "cells": [{"cell_type": "code", "source": "x", "outputs": [
            {"output_type": "display_data", "data": {"text/html": "<table><tr><td>stopped by the watchdog</td></tr></table>"}},
            {"output_type": "stream", "name": "stdout", "text": ["정상\n"]},
        ]}],
        "metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {
            "abc": {"model_name": "DropdownModel", "state": {"_options_labels": ["yes, the same process"],
                                                             "_esm": "function render() { return the_value; }"}},
        }}}},
    }
    texts = [t for _, t in output_texts(nb)]
    assert any("stopped by the watchdog" in t for t in texts)
    assert "yes, the same process" in texts
    assert not any("render" in t for t in texts)  # an anywidget's JavaScript is not text a reader sees
