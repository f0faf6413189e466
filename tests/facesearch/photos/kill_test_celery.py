"""The project's Celery app, tuned for the workers that the worker-kill tests start (and kill).

- A 5 s Redis visibility timeout: a message taken by a worker that then dies whole (SIGKILL) is given back to the
  queue by another worker once it has been unacknowledged that long; production waits an hour, the test cannot.
- A 300 s `worker_proc_alive_timeout`: a replacement pool process loads the networks in `worker_process_init`, which
  takes longer than Celery's 4 s default on a busy machine; with the default, the main process kills every
  replacement before it is up, and the redelivered task never runs. (Production needs the same setting.)
"""

from facesearch.celery import app

app.conf.broker_transport_options = {
    "visibility_timeout": 5,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
app.conf.worker_proc_alive_timeout = 300
