"""The encoder setting is checked against the face table at start-up (`manage.py check`, `migrate`)."""

from __future__ import annotations

from facesearch.photos.checks import encoder_fits_the_face_table


def test_the_default_encoder_fits(settings):
    settings.FACESEARCH_ENCODER = "facenet"
    assert encoder_fits_the_face_table() == []


def test_an_encoder_of_another_size_is_an_error_naming_both_sizes(settings):
    settings.FACESEARCH_ENCODER = "fusion"  # 384-D: usable from the embeddings library, not in the face table
    (error,) = encoder_fits_the_face_table()
    assert error.id == "facesearch.E002" and "384-D" in error.msg and "128-D" in error.msg


def test_an_unknown_encoder_is_an_error(settings):
    settings.FACESEARCH_ENCODER = "nonesuch"
    (error,) = encoder_fits_the_face_table()
    assert error.id == "facesearch.E001" and "nonesuch" in error.msg


def test_the_512_d_arcface_encoder_is_refused_for_the_face_table(settings):
    settings.FACESEARCH_ENCODER = "arcface-mbf"  # opt-in, non-commercial weights: a library and benchmark encoder only
    (error,) = encoder_fits_the_face_table()
    assert error.id == "facesearch.E002" and "512-D" in error.msg and "128-D" in error.msg
