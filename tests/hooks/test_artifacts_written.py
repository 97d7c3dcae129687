"""``artifacts-written``: a plugin's event emitted inside a hook reaches every plugin in ``seq`` order."""

from __future__ import annotations

from typing import Any

from sklearn.linear_model import LogisticRegression

from trainhooks.hooks import ArtifactsWritten, RunContext, RunStarted, hookimpl
from trainhooks.testing import EventRecorder, check_event_order, make_session


class Announces:
    """Emits ``artifacts-written`` while it handles ``run-started`` (as the report plugin does)."""

    plugin_name = "announces"

    @hookimpl
    def trainhooks_configure(self, config: Any, run: RunContext) -> None:
        self.run = run

    @hookimpl
    def trainhooks_on_run_start(self, event: RunStarted) -> None:
        self.sent = self.run.emit(ArtifactsWritten, kind="test", paths=("/tmp/a.png",), artifact_path="test")


def test_an_event_emitted_inside_a_hook_reaches_plugins_before_and_after_the_emitter_in_seq_order() -> None:
    from builders import breast_cancer

    X, y = breast_cancer(120)
    first, last, announcer = EventRecorder(), EventRecorder(), Announces()
    first.plugin_name, last.plugin_name = "first", "last"
    session = make_session(first, announcer, last)
    session.tune(LogisticRegression(), {"C": [0.1, 1.0]}, X, y, strategy="grid", cv=2)
    for recorder in (first, last):
        check_event_order(recorder.events)
        assert recorder.names[:2] == ["run-started", "artifacts-written"]
        (event,) = recorder.of(ArtifactsWritten)
        assert event is announcer.sent and event.paths == ("/tmp/a.png",) and event.ready_file is None
