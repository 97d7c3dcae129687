"""The audit log's lock (filelock, every platform): separate interpreters appending at once keep one
valid hash chain, and a log that cannot be locked is one clear error, never an unlocked append."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from trainhooks.plugins.rbac import AuditError, AuditLog, verify

APPENDER = """
import sys
from trainhooks.plugins.rbac import AuditLog
log = AuditLog(sys.argv[1])
for i in range(int(sys.argv[3])):
    log.append(principal=sys.argv[2], action="run.tune", resource=str(i), allowed=True, rule=None, reason="")
"""


@pytest.mark.slow
def test_separate_interpreters_appending_at_once_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    writers = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(path), f"writer{w}", "40"], stderr=subprocess.PIPE)
        for w in range(2)
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err.decode()
    result = verify(path)
    assert result.ok, result.problem
    assert result.records == 80


def test_a_log_that_cannot_be_locked_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    (tmp_path / "audit.jsonl.lock").mkdir()  # something in the lock file's place
    with pytest.raises(AuditError) as caught:
        AuditLog(path).append(principal="u", action="run.tune", resource="r", allowed=True, rule=None, reason="")
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    assert not path.exists()  # nothing was appended without the lock
