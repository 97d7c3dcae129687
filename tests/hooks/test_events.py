"""Events: frozen snapshots, JSON round-trips, per-run sequence numbers."""

from __future__ import annotations

import dataclasses
import json
import pickle

import pytest

from trainhooks.hooks import EVENT_TYPES, Event, FrozenDict, RunStarted, TrialEnded, TrialStarted, thaw

SAMPLE_FIELDS = {
    "run-started": {"kind": "tune", "config": {"search": {"n_trials": 3, "space": {"a": [1, 2]}}}},
    "trial-started": {"trial_id": 0, "params": {"alpha": 0.1, "penalty": "l2"}},
    "epoch-ended": {
        "trial_id": 0,
        "epoch": 1,
        "metrics": {"score": 0.9, "score_std": 0.01, "fold_scores": [0.9, 0.9]},
        "planned_epochs": 3,
        "is_last": False,
    },
    "trial-ended": {
        "trial_id": 0,
        "params": {"alpha": 0.1},
        "state": "complete",
        "score": 0.9,
        "score_std": 0.01,
        "fold_scores": [0.89, 0.91],
        "epochs": 3,
        "duration_s": 0.5,
        "error": None,
        "stop_reason": None,
    },
    "search-stopped": {"reason": "patience", "by": "early_stopping"},
    "model-fitted": {
        "trial_id": 2,
        "params": {"alpha": 0.1},
        "epochs": 3,
        "model_path": "/tmp/model.pkl",
        "test_score": 0.95,
        "input_example": [[1.0, 2.0]],
        "feature_names": None,
    },
    "model-registered": {"model_name": "m", "version": "3", "alias": "champion", "score": 0.97},
    "run-ended": {"summary": {"best_score": 0.9, "best_params": {"alpha": 0.1}}},
    "run-failed": {"error": "boom", "error_type": "RuntimeError"},
    "plugin-failed": {"plugin": "p", "hook": "trainhooks_on_trial_end", "error": "ValueError: x"},
}


def make(name: str, seq: int = 1) -> Event:
    return EVENT_TYPES[name](run_id="r1", timestamp=1.5, seq=seq, **SAMPLE_FIELDS[name])


def test_every_event_type_has_a_sample() -> None:
    assert set(SAMPLE_FIELDS) <= set(EVENT_TYPES)
    assert {"run-started", "trial-started", "epoch-ended", "trial-ended", "run-ended", "run-failed"} <= set(EVENT_TYPES)


@pytest.mark.parametrize("name", sorted(SAMPLE_FIELDS))
def test_event_round_trips_through_json(name: str) -> None:
    event = make(name)
    line = event.to_json()
    assert "\n" not in line
    again = Event.from_json(line)
    assert type(again) is type(event)
    assert again == event
    assert json.loads(line)["name"] == name


@pytest.mark.parametrize("name", sorted(SAMPLE_FIELDS))
def test_event_pickles(name: str) -> None:
    event = make(name)
    assert pickle.loads(pickle.dumps(event)) == event


def test_events_are_frozen_snapshots() -> None:
    params = {"alpha": 0.1, "nested": {"k": [1, 2]}}
    event = TrialStarted(run_id="r", timestamp=0.0, seq=1, trial_id=0, params=params)
    params["alpha"] = 99  # the caller's dict changing later does not change the event
    assert event.params["alpha"] == 0.1
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.trial_id = 5  # type: ignore[misc]
    with pytest.raises(TypeError, match="read-only"):
        event.params["alpha"] = 1.0
    with pytest.raises(TypeError):
        event.params["nested"].update(k=3)
    assert isinstance(event.params, dict) and isinstance(event.params, FrozenDict)
    assert event.params["nested"]["k"] == (1, 2)
    mutable = thaw(event.params)
    mutable["alpha"] = 2.0
    assert event.params["alpha"] == 0.1


def test_unknown_event_name_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown event name 'nope'"):
        Event.from_dict({"name": "nope", "run_id": "r", "timestamp": 0.0, "seq": 1})


def test_plugins_can_define_new_event_types() -> None:
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class DatasetProfiled(Event):
        name = "dataset-profiled"
        n_rows: int

    event = DatasetProfiled(run_id="r", timestamp=0.0, seq=1, n_rows=10)
    assert Event.from_json(event.to_json()) == event


def test_seq_strictly_increases_within_a_real_run(
    trainhooks_session, trainhooks_recorder, trainhooks_small_search
) -> None:
    trainhooks_small_search(trainhooks_session(), n_trials=2)
    seqs = [e.seq for e in trainhooks_recorder.events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert len({e.run_id for e in trainhooks_recorder.events}) == 1
    assert isinstance(trainhooks_recorder.events[0], RunStarted)
    assert all(type(e.trial_id) is int for e in trainhooks_recorder.of(TrialEnded))
