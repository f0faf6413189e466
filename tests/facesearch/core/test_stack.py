"""The foundation runs on the real components: pgvector in PostgreSQL, Redis, a Celery worker."""

from __future__ import annotations

import pytest
from django.db import connection

from facesearch.celery import ping


@pytest.mark.django_db
def test_vector_column_round_trips_and_orders_by_pgvector_operators():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE items (id int, embedding vector(3))")
        cursor.execute("INSERT INTO items VALUES (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[0.9,0.1,0]'), (4, '[-1,0,0]')")
        cursor.execute("SELECT embedding::text, vector_dims(embedding) FROM items WHERE id = 3")
        assert cursor.fetchone() == ("[0.9,0.1,0]", 3)
        cursor.execute("SELECT id FROM items ORDER BY embedding <-> '[1,0,0]'")
        assert [row[0] for row in cursor.fetchall()] == [1, 3, 2, 4]
        cursor.execute("SELECT id, round((embedding <=> '[1,0,0]')::numeric, 3) FROM items ORDER BY 2, 1")
        assert [(row[0], float(row[1])) for row in cursor.fetchall()] == [(1, 0.0), (3, 0.006), (2, 1.0), (4, 2.0)]


def test_celery_task_round_trip_through_redis(celery_worker):
    assert ping.delay().get(timeout=30) == "pong"
