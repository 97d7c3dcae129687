"""The metrics plugin: /metrics scraped during a real run, stopped after it, the textfile parsed with
prometheus_client's own parser, plugin errors counted, and bad settings refused."""

from __future__ import annotations

import math
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from builders import run_config, write_toml
from prometheus_client.parser import text_string_to_metric_families
from sklearn.linear_model import SGDClassifier

from trainhooks import AllTrialsFailed, ConfigError, hookimpl
from trainhooks.cli.app import main
from trainhooks.hooks import TrialEnded
from trainhooks.testing import EventRecorder, make_session, small_search


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(parsed: dict, name: str, **labels: str) -> float:
    return parsed[(name, tuple(sorted(labels.items())))]


class Scraper:
    """Scrapes the metrics endpoint from inside the run, after each trial."""

    plugin_name = "scraper"

    def __init__(self, session_ref: list[Any]) -> None:
        self.session_ref = session_ref
        self.scrapes: list[str] = []
        self.url: str | None = None

    @hookimpl(trylast=True)  # after the metrics plugin has counted this trial
    def trainhooks_on_trial_end(self, event: TrialEnded) -> None:
        self.url = self.session_ref[0].get_plugin("metrics").url
        with urllib.request.urlopen(self.url, timeout=10) as response:
            self.scrapes.append(response.read().decode("utf-8"))


class Failing:
    """Raises in every trial-ended notification."""

    plugin_name = "boom"

    @hookimpl
    def trainhooks_on_trial_end(self, event: TrialEnded) -> None:
        raise ValueError("kaput")


def metrics_session(*plugins: object, recorder: EventRecorder | None = None) -> Any:
    return make_session(recorder or EventRecorder(), *plugins, builtins=["metrics"])


def test_endpoint_is_scraped_during_a_real_run_and_closed_after(tmp_path: Path) -> None:
    ref: list[Any] = []
    scraper = Scraper(ref)
    session = metrics_session(scraper)
    ref.append(session)
    result = small_search(session, n_trials=3, plugin_config={"metrics": {"port": 0}})

    assert scraper.url is not None and scraper.url.startswith("http://127.0.0.1:")
    assert len(scraper.scrapes) == 3
    first, last = samples(scraper.scrapes[0]), samples(scraper.scrapes[-1])
    assert value(first, "trainhooks_trials_total", state="complete") == 1
    assert value(last, "trainhooks_trials_total", state="complete") == 3
    assert value(last, "trainhooks_events_total", event="run-started") == 1
    assert value(last, "trainhooks_epochs_total") == sum(t["epochs"] for t in result.trials)
    assert value(last, "trainhooks_best_score") == pytest.approx(result.summary["best_score"])
    assert value(last, "trainhooks_run_wall_time_seconds") > 0
    assert value(last, "trainhooks_run_info", run_id=result.run_id, kind="tune", experiment="default") == 1
    assert ("trainhooks_events_total", (("event", "run-ended"),)) not in last  # the run is still going

    with pytest.raises(urllib.error.URLError):  # served only while the run lasts
        urllib.request.urlopen(scraper.url, timeout=5)


def test_textfile_has_the_final_values(tmp_path: Path) -> None:
    prom = tmp_path / "run.prom"
    session = metrics_session(Failing())
    result = small_search(
        session, n_trials=3, max_epochs=5, eval_every=2, plugin_config={"metrics": {"textfile": str(prom)}}
    )

    parsed = samples(prom.read_text(encoding="utf-8"))
    assert value(parsed, "trainhooks_trials_total", state="complete") == 3
    assert value(parsed, "trainhooks_trials_total", state="failed") == 0
    assert value(parsed, "trainhooks_trial_duration_seconds_count") == 3
    assert value(parsed, "trainhooks_trial_duration_seconds_sum") == pytest.approx(
        sum(r.duration_s for r in result.results)
    )
    # scored (and reported) epochs 2, 4 and 5 of each trial, but all 5 were trained
    assert value(parsed, "trainhooks_events_total", event="epoch-ended") == 3 * 3
    assert value(parsed, "trainhooks_epochs_total") == sum(t["epochs"] for t in result.trials) == 3 * 5
    assert value(parsed, "trainhooks_best_score") == pytest.approx(result.summary["best_score"])
    assert value(parsed, "trainhooks_run_wall_time_seconds") == pytest.approx(result.summary["wall_time_s"])
    for event, count in {
        "run-started": 1,
        "trial-started": 3,
        "trial-ended": 3,
        "run-ended": 1,
        "plugin-failed": 3,
    }.items():
        assert value(parsed, "trainhooks_events_total", event=event) == count
    assert value(parsed, "trainhooks_plugin_errors_total", plugin="boom") == 3
    # no temporary file left behind (trainhooks-runs/ holds the core's run journal)
    assert not [p for p in tmp_path.iterdir() if p.name not in ("run.prom", "trainhooks-runs")]


class FailsInFit(SGDClassifier):
    """An SGD classifier whose every fit raises (a failure no up-front check can see)."""

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> FailsInFit:
        raise ValueError("this estimator always fails")


def test_failed_trials_and_no_best_score(tmp_path: Path) -> None:
    prom = tmp_path / "run.prom"
    with pytest.raises(AllTrialsFailed):
        small_search(
            metrics_session(),
            FailsInFit(random_state=0),
            n_trials=2,
            space={"alpha": [1e-4, 1e-3]},
            plugin_config={"metrics": {"textfile": str(prom)}},
        )
    parsed = samples(prom.read_text(encoding="utf-8"))
    assert value(parsed, "trainhooks_trials_total", state="failed") == 2
    assert value(parsed, "trainhooks_trials_total", state="complete") == 0
    assert math.isnan(value(parsed, "trainhooks_best_score"))


def test_each_session_has_its_own_registry(tmp_path: Path) -> None:
    a, b = metrics_session(), metrics_session()
    small_search(a, n_trials=2)
    small_search(b, n_trials=1)
    ma, mb = a.get_plugin("metrics").metrics, b.get_plugin("metrics").metrics
    assert ma.registry is not mb.registry
    assert ma.registry.get_sample_value("trainhooks_trials_total", {"state": "complete"}) == 2
    assert mb.registry.get_sample_value("trainhooks_trials_total", {"state": "complete"}) == 1


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"port": -1}, r"^plugins\.metrics\.port: "),
        ({"port": "http"}, r"^plugins\.metrics\.port: "),
        ({"textfile": "no/such/dir/m.prom"}, r"^plugins\.metrics\.textfile: directory does not exist: no/such/dir$"),
        ({"prot": 9100}, r"^plugins\.metrics\.prot: unknown key \(did you mean 'port'\?\)$"),
        ({"port": True}, r"^plugins\.metrics\.port: Input should be a valid integer \(got True\)$"),
    ],
)
def test_bad_settings_are_one_line_config_errors(table: dict, message: str) -> None:
    recorder = EventRecorder()
    with pytest.raises(ConfigError, match=message):
        small_search(metrics_session(recorder=recorder), plugin_config={"metrics": table})
    assert recorder.events == []


CONFIG = run_config(data={"dataset": "iris"}, search={"n_trials": 2, "cv": 2})


def test_cli_set_writes_the_textfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINHOOKS_DISABLE_PLUGIN_AUTOLOAD", "1")
    config = tmp_path / "run.toml"
    write_toml(config, CONFIG)
    prom = tmp_path / "out.prom"
    args = ["tune", str(config), "-q", "--no-plugin", "mlflow", "--set", f'plugins.metrics.textfile="{prom}"']
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 0
    assert value(samples(prom.read_text(encoding="utf-8")), "trainhooks_trials_total", state="complete") == 2


def test_textfile_is_written_when_the_run_fails(tmp_path: Path) -> None:
    prom = tmp_path / "run.prom"
    session = make_session(EventRecorder(), Failing(), builtins=["metrics"], on_error="raise")
    with pytest.raises(ValueError, match="kaput"):
        small_search(session, n_trials=2, plugin_config={"metrics": {"textfile": str(prom)}})
    parsed = samples(prom.read_text(encoding="utf-8"))
    assert value(parsed, "trainhooks_events_total", event="run-failed") == 1
    assert ("trainhooks_events_total", (("event", "run-ended"),)) not in parsed


def test_a_taken_port_is_a_plugin_failure_not_a_failed_run() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        recorder = EventRecorder()
        result = small_search(metrics_session(recorder=recorder), n_trials=1, plugin_config={"metrics": {"port": port}})
    assert result.summary["n_complete"] == 1
    (failure,) = recorder.of("plugin-failed")
    assert (failure.plugin, failure.hook) == ("metrics", "trainhooks_on_run_start")


def test_fold_reports_of_one_epoch_trials_are_not_counted_as_epochs(tmp_path: Path) -> None:
    from sklearn.tree import DecisionTreeClassifier

    prom = tmp_path / "run.prom"
    session = metrics_session(Failing())
    space = {"max_depth": [2, 3]}
    small_search(
        session,
        DecisionTreeClassifier(random_state=0),
        space=space,
        strategy="grid",
        cv=3,
        plugin_config={"metrics": {"textfile": str(prom)}},
    )
    parsed = samples(prom.read_text(encoding="utf-8"))
    assert value(parsed, "trainhooks_events_total", event="epoch-ended") == 2 * 3  # one report per fold
    assert value(parsed, "trainhooks_epochs_total") == 2  # one epoch per trial
