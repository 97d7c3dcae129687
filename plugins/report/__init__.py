"""``report``: figures of a run and one self-contained HTML page (``trainhooks report RUN_ID``).

At the end of every run it draws the optimisation history, parameter importance (permutation
importance of a random-forest surrogate), partial dependence on the top parameters, every trial's
learning curve and, for the refit model, an evaluation figure with held-out metrics in the summary
notes. Files go to ``trainhooks-runs/<run_id>/report/``; drawing happens in a child process while
trials run. Needs the ``report`` extra (matplotlib). See docs/reading-results.md.
"""

from ._plugin import ReportPlugin
from ._settings import DEFAULT_RUNS_DIR, ReportSettings

__all__ = ["DEFAULT_RUNS_DIR", "ReportPlugin", "ReportSettings"]
