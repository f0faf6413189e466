"""The data directory: the one answer the settings, `facesearch run` and the tests share."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from facesearch import paths


def test_data_dir_is_the_environment_variable_when_set(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("FACESEARCH_DATA_DIR", str(tmp_path / "data"))
    assert paths.data_dir() == tmp_path / "data"


def test_data_dir_defaults_to_var_in_the_checkout_wherever_the_command_runs(tmp_path: Path, monkeypatch):
    """`facesearch run` started elsewhere must write where a later `manage.py` looks."""
    monkeypatch.delenv("FACESEARCH_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    assert paths.data_dir() == Path(__file__).resolve().parents[2] / "var"


def test_settings_use_it():
    assert paths.data_dir() == settings.DATA_DIR  # tests/servers.py set FACESEARCH_DATA_DIR before the settings loaded
