"""The gated app (`gated_celery`) with a short Redis visibility timeout, for the test that kills a whole worker.

A message taken by a worker that then dies whole (SIGKILL) is given back to the queue by another worker once it has
been unacknowledged for `visibility_timeout` seconds; production waits an hour, the test cannot. The timeout must
still exceed a task's run on a slow, busy machine: a run that outlasts it is handed out again and runs twice.
"""

from tests.facesearch.photos.gated_celery import app

__all__ = ["app"]

app.conf.broker_transport_options = {
    "visibility_timeout": 45,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
