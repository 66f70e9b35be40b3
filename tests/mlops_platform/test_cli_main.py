"""`mlops` ends quietly when its reader stops reading (`mlops layers list | head -1`) or on Ctrl-C:
an exit code and, for Ctrl-C, one line; never a traceback."""

from __future__ import annotations

import io
import sys

from mlops_platform import cli


class ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_that_stops_reading_ends_the_command_with_0(monkeypatch):
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert cli.main(["layers", "list"]) == 0


def test_ctrl_c_is_one_line_and_130(monkeypatch, capsys):
    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_main", interrupted)
    assert cli.main(["status"]) == 130
    assert capsys.readouterr().err == "interrupted\n"
