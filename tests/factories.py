"""factory_boy factories for rows that tests need but whose making is not what they test.

Photos get a real (tiny, generated) JPEG whose sha256 is the row's; faces get a random unit embedding. Anything
about accuracy uses real faces through the pipeline instead (see tests/conftest.py).
"""

from __future__ import annotations

import hashlib
import io

import factory
import numpy as np
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from PIL import Image
from rest_framework.authtoken.models import Token

from facesearch.libraries.models import Library, Membership, Role
from facesearch.people.models import Person
from facesearch.photos.models import EMBEDDING_DIM, Face, IngestItem, IngestJob, Photo

MODEL_ID = "facenet-msceleb-v1"  # the default encoder's model_id; pass another to simulate a second encoder


def jpeg_bytes(width: int = 64, height: int = 48, seed: int | None = None) -> bytes:
    """A small random-noise JPEG (different bytes for each seed)."""
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def unit_vector(dim: int = EMBEDDING_DIM, seed: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vector = rng.standard_normal(dim).astype(np.float32)
    return vector / np.linalg.norm(vector)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class TokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Token
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory)


class LibraryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Library

    name = factory.Sequence(lambda n: f"Library {n}")


def first_library() -> Library:
    """Rows made without a library go to the oldest one: the personal library of the test's first user (`user`
    fixture), so single-user tests see them; tests of isolation pass `library=` explicitly."""
    return Library.objects.order_by("id").first() or LibraryFactory()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    library = factory.SubFactory(LibraryFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    library = factory.LazyFunction(first_library)
    name = factory.Sequence(lambda n: f"Person {n}")


class PhotoFactory(factory.django.DjangoModelFactory):
    """A done photo whose file (a tiny JPEG) is stored at its content address."""

    class Meta:
        model = Photo

    class Params:
        content = factory.Sequence(lambda n: jpeg_bytes(seed=n))

    library = factory.LazyFunction(first_library)
    sha256 = factory.LazyAttribute(lambda photo: hashlib.sha256(photo.content).hexdigest())
    file = factory.LazyAttribute(lambda photo: ContentFile(photo.content, name=f"{photo.sha256}.jpg"))
    original_name = factory.Sequence(lambda n: f"photo{n}.jpg")
    size = factory.LazyAttribute(lambda photo: len(photo.content))
    width = 64
    height = 48
    status = Photo.Status.DONE
    model_id = MODEL_ID


class FaceFactory(factory.django.DjangoModelFactory):
    """A face with a random unit embedding; `index` counts up so several faces can share a photo."""

    class Meta:
        model = Face

    photo = factory.SubFactory(PhotoFactory)
    library = factory.LazyAttribute(lambda face: face.photo.library)
    index = factory.Sequence(lambda n: n % 16000)
    box = [10.0, 8.0, 40.0, 44.0]
    landmarks = [[18.0, 20.0], [32.0, 20.0], [25.0, 28.0], [19.0, 36.0], [31.0, 36.0]]
    score = 0.99
    box_size = 30.0
    sharpness = 120.0
    yaw = 0.0
    pitch = 0.0
    roll = 0.0
    crop = factory.LazyFunction(lambda: jpeg_bytes(32, 32))
    model_id = MODEL_ID
    embedding = factory.LazyFunction(unit_vector)
    person = None
    assignment = factory.LazyAttribute(lambda face: Face.Assignment.MANUAL if face.person else "")


class IngestJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IngestJob

    library = factory.LazyFunction(first_library)
    source = IngestJob.Source.UPLOAD
    state = IngestJob.State.RUNNING


class IngestItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IngestItem

    job = factory.SubFactory(IngestJobFactory)
    name = factory.Sequence(lambda n: f"file{n}.jpg")
    photo = factory.SubFactory(PhotoFactory)
    state = IngestItem.State.DONE
