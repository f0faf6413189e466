"""gunicorn settings of the e2e server: load the face networks before serving, as the Celery worker does.

Without it the first search pays for loading them (tens of seconds), in the middle of a test.
"""


def post_worker_init(worker) -> None:
    from facesearch.core.pipeline import get_pipeline

    get_pipeline().warm_up()
