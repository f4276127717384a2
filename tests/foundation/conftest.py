"""Fixtures the foundation tests share with the metrics tests: an app whose data commits
(``job_app(**config)``, for a real worker) and the app's rq queue on the test Redis."""

from tests.metrics.conftest import metrics_app as job_app  # noqa: F401
from tests.metrics.conftest import redis_queue as queue  # noqa: F401
