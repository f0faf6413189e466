"""Every new account gets a personal library (created with the user, wherever the user is created: sign-up, admin,
createsuperuser)."""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="library_personal_create")
def user_created(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        from facesearch.libraries.services import library_create_personal

        library_create_personal(user=instance)
