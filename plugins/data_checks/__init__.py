"""Built-in ``data_checks`` plugin: the checks that make data fit for training, before any trial.

It answers the data-validation hooks (``trainhooks_check_data_source``, ``trainhooks_validate_data``)
with problems (the run is refused, exit 2, nothing written) and warnings (summary notes). Its
``[plugins.data_checks]`` table sets the size limits and can skip checks; see
docs/configuration.md. Modules: :mod:`._settings` (the table), :mod:`._checks` (one function per
check), :mod:`.plugin` (the hooks).
"""

from ._checks import CHECKS
from ._settings import DataChecksSettings
from .plugin import DataChecksPlugin

__all__ = ["CHECKS", "DataChecksPlugin", "DataChecksSettings"]
