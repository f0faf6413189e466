"""Admin of the serving encoder: what serves, what a switch is re-encoding with, and the actions that start one."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from facesearch.core.errors import ApplicationError
from facesearch.core.models import EncoderState
from facesearch.photos import encoder_switch


def _switch_action(encoder: str) -> Callable[[admin.ModelAdmin, HttpRequest, QuerySet], None]:
    def switch(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        try:
            jobs = encoder_switch.encoder_switch_start(encoder=encoder, user=request.user)
        except ApplicationError as exc:
            modeladmin.message_user(request, exc.message, messages.ERROR)
            return
        photos = sum(job.items.count() for job in jobs)
        modeladmin.message_user(
            request,
            f"Re-encoding {photos} photos with {encoder} ({len(jobs)} jobs on the Jobs page); search answers from the "
            "serving encoder until every photo is done.",
        )

    return switch


@admin.register(EncoderState)
class EncoderStateAdmin(admin.ModelAdmin):
    """One row; superusers only, since a switch re-encodes every library."""

    list_display = ("serving", "target", "started_at", "switched_at")
    readonly_fields = list_display

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        if not self.has_module_permission(request):
            return {}
        return {
            f"switch_to_{encoder}": (
                _switch_action(encoder),
                f"switch_to_{encoder}",
                f"Re-encode every photo with {encoder}, then serve it",
            )
            for encoder in encoder_switch.switchable_encoders()
        }
