"""FACESEARCH_TF_THREADS reaches TensorFlow: with N worker processes on a host, each must stay on its share of cores."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.servers import ROOT

CHECK = """
import django
django.setup()
import tensorflow as tf
from facesearch.core.pipeline import tensorflow_threads_apply
applied = tensorflow_threads_apply()
tf.constant(1.0) + 1.0  # TensorFlow's first op fixes the threads
threading = tf.config.threading
print(applied, threading.get_intra_op_parallelism_threads(), threading.get_inter_op_parallelism_threads())
"""


@pytest.mark.slow  # a Python subprocess importing TensorFlow, per case
@pytest.mark.parametrize(("setting", "expected"), [("1", "1 1 1"), ("0", "0 0 0")])
def test_the_setting_sets_tensorflows_threads_before_its_first_op(setting, expected):
    env = {**os.environ, "FACESEARCH_TF_THREADS": setting, "DJANGO_SETTINGS_MODULE": "facesearch.settings"}
    result = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[-2] == expected
