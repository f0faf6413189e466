"""People in the admin: face counts, cover thumbnails, and merging through an intermediate page."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from facesearch.core.errors import ApplicationError
from facesearch.libraries.admin import LibraryScopedAdmin, admin_caller
from facesearch.libraries.erasure import person_erase
from facesearch.libraries.models import Library, Scope
from facesearch.people import selectors, services
from facesearch.people.models import Person


class MergeForm(forms.Form):
    keep = forms.ModelChoiceField(
        queryset=Person.objects.none(), widget=forms.RadioSelect, empty_label=None, label="Keep this person"
    )

    def __init__(self, *args, people: QuerySet[Person], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["keep"].queryset = people


@admin.register(Person)
class PersonAdmin(LibraryScopedAdmin):
    list_display = ("cover", "name", "library", "face_count", "never_match", "hidden", "updated_at")
    list_display_links = ("cover", "name")
    list_filter = ("library", "never_match", "hidden")
    search_fields = ("name", "notes")
    readonly_fields = ("cover", "face_count", "created_at", "updated_at")
    actions = ("merge_people", "erase_people")

    def get_fields(self, request: HttpRequest, obj: Person | None = None) -> tuple[str, ...]:
        fields = ("name", "notes", "never_match", "hidden", "cover", "face_count", "created_at", "updated_at")
        return fields if obj is not None else ("library", "name", "notes", "never_match", "hidden")

    def get_readonly_fields(self, request: HttpRequest, obj: Person | None = None) -> tuple[str, ...]:
        return self.readonly_fields if obj is not None else ()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Person]:
        return selectors.person_list(caller=admin_caller(request))

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "library":
            kwargs["queryset"] = Library.objects.filter(id__in=admin_caller(request).library_ids(Scope.MANAGE))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Person, form: forms.ModelForm, change: bool) -> None:
        data = {field: form.cleaned_data[field] for field in ("name", "notes", "never_match", "hidden")}
        if change:
            services.person_update(person=obj, data=data, caller=admin_caller(request))
        else:
            obj.pk = services.person_create(library=form.cleaned_data["library"], **data).pk

    def delete_model(self, request: HttpRequest, obj: Person) -> None:
        services.person_delete(person=obj, caller=admin_caller(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Person]) -> None:
        for person in queryset:
            services.person_delete(person=person, caller=admin_caller(request))

    @admin.action(description="Erase the selected people (their faces too) and verify")
    def erase_people(self, request: HttpRequest, queryset: QuerySet[Person]) -> None:
        for person in queryset:
            if not self._may(request, Scope.MANAGE, person):
                continue
            receipt = person_erase(person=person, caller=admin_caller(request))
            level = messages.SUCCESS if receipt.verified else messages.ERROR
            self.message_user(request, f"Erased {receipt.removed['faces']} faces; verified: {receipt.verified}.", level)

    @admin.display(description="faces", ordering="face_count")
    def face_count(self, person: Person) -> int:
        return getattr(person, "face_count", 0)

    @admin.display(description="cover")
    def cover(self, person: Person) -> str:
        if getattr(person, "cover_id", None) is None:
            return "-"
        return format_html(
            '<img src="{}" alt="cover of {}" width="56" height="56" style="object-fit:cover;border-radius:4px">',
            reverse("photos:face-crop", args=[person.cover_id]),
            person.name,
        )

    @admin.action(description="Merge selected people into one")
    def merge_people(self, request: HttpRequest, queryset: QuerySet[Person]) -> HttpResponse | None:
        """Step 1 shows the people and asks which to keep; step 2 (`apply`) merges the others into it."""
        people = queryset.order_by("-face_count", "name")
        if people.count() < 2:
            self.message_user(request, "Select at least two people to merge.", messages.WARNING)
            return None
        form = MergeForm(request.POST if "apply" in request.POST else None, people=people)
        if "apply" in request.POST and form.is_valid():
            keep = form.cleaned_data["keep"]
            try:
                for other in people.exclude(pk=keep.pk):
                    services.person_merge(person=keep, other=other, caller=admin_caller(request))
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return None
            self.message_user(request, f"Merged {people.count() - 1} people into {keep.name}.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Merge people",
            "opts": self.model._meta,
            "people": people,
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/people/person/merge.html", context)
