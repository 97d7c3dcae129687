"""``progress``: shows how a run is going, on stderr.

Each ended trial is one line naming its ``trial_id``; the run's status says how many trials are
done (complete / pruned / failed), the best score so far and which trial reached it, the rate in
trials per minute and an ETA against ``search.n_trials`` or ``search.timeout_s``, whichever ends
the run first, with ``search.n_jobs`` trials at a time. On a terminal that status is a live rich
bar; in a pipe or CI log it ends every trial line. Block it (``--quiet`` or
``--no-plugin progress``) for silence. Modules: :mod:`._forecast` (counts, rate, ETA; no I/O),
:mod:`._plugin` (the hooks and the lines).
"""

from ._forecast import Eta, Forecast, format_duration
from ._plugin import ProgressPlugin, status_line, trial_line

__all__ = ["Eta", "Forecast", "ProgressPlugin", "format_duration", "status_line", "trial_line"]
