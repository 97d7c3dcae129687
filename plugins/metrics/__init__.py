"""``metrics``: Prometheus metrics of each run, served on 127.0.0.1 and/or written as a textfile.

See ``docs/metrics.md``. Modules: :mod:`.collectors` (the metrics of one run in its own registry),
:mod:`.plugin` (the hooks, the HTTP endpoint and the textfile).
"""

from .collectors import RunMetrics
from .plugin import MetricsPlugin, MetricsSettings

__all__ = ["MetricsPlugin", "MetricsSettings", "RunMetrics"]
