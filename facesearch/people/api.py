"""REST API of people: create, list (with face counts and covers), rename, hide, delete, enrol and remove faces,
reject faces ("not them") and undo, merge and undo a merge, split, and a person's history.

Views are thin: validate with an InputSerializer/FilterSerializer, call one service or selector, serialize out.
Face shapes, errors and person references are facesearch/core/api.py's, so clients see one `Face` everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from facesearch.core.api import (
    LIBRARY_NOT_FOUND,
    NOT_AUTHENTICATED,
    PAGE_NOT_FOUND,
    UNSUPPORTED_MEDIA_TYPE,
    FaceOutputSerializer,
    PageFilterSerializer,
    PersonRefSerializer,
    error_responses,
    face_crop_url,
    list_response,
    page_schema,
)
from facesearch.core.errors import ApplicationError
from facesearch.libraries.access import Caller, object_get
from facesearch.libraries.api import ErasureReceiptSerializer
from facesearch.libraries.erasure import person_erase
from facesearch.libraries.models import Scope
from facesearch.people import selectors, services
from facesearch.people.models import AssignmentEvent, Person
from facesearch.photos.models import Face

ERRORS = {**error_responses({400: "invalid input; nothing changed"}), **NOT_AUTHENTICATED}
NOT_FOUND = error_responses({404: "no such person (or face)"})


class CoverOutputSerializer(serializers.Serializer):
    face_id = serializers.IntegerField()
    crop_url = serializers.SerializerMethodField()

    class Meta:
        ref_name = "PersonCover"

    def get_crop_url(self, cover: dict) -> str:
        return face_crop_url(self.context, cover["face_id"])


class PersonOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    library = serializers.IntegerField(source="library_id")
    name = serializers.CharField()
    notes = serializers.CharField()
    never_match = serializers.BooleanField(
        help_text="opted out: their faces are never returned by search, identification or suggestions"
    )
    hidden = serializers.BooleanField(help_text="left out of the people list and of suggestions; still searchable")
    face_count = serializers.IntegerField()
    cover = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Person"

    @extend_schema_field(CoverOutputSerializer(allow_null=True))
    def get_cover(self, person: Person) -> dict | None:
        if person.cover_id is None:
            return None
        return CoverOutputSerializer({"face_id": person.cover_id}, context=self.context).data


def _person(request: Request, person_id: int, scope: str = Scope.READ, *, listed: bool = False) -> Person:
    """The caller's person, or a 404 (a 403 when they may read but not `scope`); `listed`: with the list annotations
    (face_count, cover_id), which only answers show.

    A write reads the plain row, changes it, then reads the annotated person once, for its answer (`_person_data`).
    """
    caller = Caller.of(request)
    people = selectors.person_list(caller=caller) if listed else Person.objects.all()
    return object_get(people, caller, scope, noun="person", id=person_id)


def _person_data(request: Request, person_id: int) -> dict:
    return PersonOutputSerializer(_person(request, person_id, listed=True), context={"request": request}).data


def _person_face_page(
    request: Request, view: APIView, person_id: int, selector: Callable[..., QuerySet[Face]]
) -> Response:
    """A page of faces `selector(person=...)` gives for the caller's person; an unknown person is a 404 once the page
    parameters are valid."""
    return list_response(
        request,
        view,
        filter_serializer_class=PageFilterSerializer,
        selector=lambda caller, filters: selector(person=_person(request, person_id)),
        output_serializer_class=FaceOutputSerializer,
    )


class PersonListApi(APIView):
    class FilterSerializer(PageFilterSerializer):
        search = serializers.CharField(required=False, help_text="name contains (case-insensitive)")
        never_match = serializers.BooleanField(required=False, allow_null=True, default=None)
        hidden = serializers.ChoiceField(
            choices=["false", "true", "all"], required=False, default="false",
            help_text="hidden people: left out (false, the default), only them (true), or both (all)",
        )  # fmt: skip

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        notes = serializers.CharField(required=False, allow_blank=True, default="")
        never_match = serializers.BooleanField(required=False, default=False)
        library = serializers.IntegerField(
            required=False, min_value=1, help_text="default: an API key's library, or your personal library"
        )

        class Meta:
            ref_name = "PersonCreate"

    @extend_schema(
        operation_id="people_list",
        parameters=[FilterSerializer],
        responses={200: page_schema(PersonOutputSerializer), **ERRORS, **PAGE_NOT_FOUND},
    )
    def get(self, request: Request) -> Response:
        return list_response(
            request,
            self,
            filter_serializer_class=self.FilterSerializer,
            selector=selectors.person_list,
            output_serializer_class=PersonOutputSerializer,
        )

    @extend_schema(
        operation_id="people_create",
        request=InputSerializer,
        responses={201: PersonOutputSerializer, **ERRORS, **LIBRARY_NOT_FOUND, **UNSUPPORTED_MEDIA_TYPE},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        library = Caller.of(request).library_or_default(data.pop("library", None), Scope.MANAGE)
        person = services.person_create(library=library, **data)
        return Response(_person_data(request, person.id), status=status.HTTP_201_CREATED)


class PersonDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False)
        notes = serializers.CharField(required=False, allow_blank=True)
        cover_face_id = serializers.IntegerField(
            required=False, allow_null=True, help_text="one of the person's faces; null picks the best one"
        )
        never_match = serializers.BooleanField(
            required=False, help_text="true: leave their faces out of every search, identification and suggestion"
        )
        hidden = serializers.BooleanField(
            required=False, help_text="true: leave them out of the people list and suggestions (still searchable)"
        )

        class Meta:
            ref_name = "PersonUpdate"

    @extend_schema(operation_id="people_retrieve", responses={200: PersonOutputSerializer, **ERRORS, **NOT_FOUND})
    def get(self, request: Request, person_id: int) -> Response:
        return Response(_person_data(request, person_id))

    @extend_schema(
        operation_id="people_update",
        request=InputSerializer,
        responses={200: PersonOutputSerializer, **ERRORS, **NOT_FOUND, **UNSUPPORTED_MEDIA_TYPE},
    )
    def patch(self, request: Request, person_id: int) -> Response:
        person = _person(request, person_id, Scope.MANAGE)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.person_update(person=person, data=serializer.validated_data, caller=Caller.of(request))
        return Response(_person_data(request, person_id))

    class DeleteSerializer(serializers.Serializer):
        erase = serializers.BooleanField(
            required=False, default=False, help_text="remove the person's faces (vectors, crops) too, then verify"
        )
        photos = serializers.BooleanField(
            required=False, default=False, help_text="with erase: also delete photos in which they are the only face"
        )

    @extend_schema(
        operation_id="people_destroy",
        parameters=[DeleteSerializer],
        responses={
            204: OpenApiResponse(description="deleted; its faces and photos stay, unassigned"),
            200: OpenApiResponse(ErasureReceiptSerializer, description="erased: the receipt"),
            **ERRORS,
            **NOT_FOUND,
        },
        description="Deletes the person; its faces and photos stay, unassigned (as if never enrolled). "
        "With `erase=true` the faces go too (and, with `photos=true`, the photos where they are the only face), "
        "the database and media are scanned for anything left, and the answer is the erasure receipt.",
    )
    def delete(self, request: Request, person_id: int) -> Response:
        params = self.DeleteSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        person = _person(request, person_id, Scope.MANAGE)
        caller = Caller.of(request)
        if params.validated_data["erase"]:
            receipt = person_erase(person=person, photos=params.validated_data["photos"], caller=caller)
            return Response(ErasureReceiptSerializer(receipt).data)
        services.person_delete(person=person, caller=caller)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PersonFaceListApi(APIView):
    class InputSerializer(serializers.Serializer):
        face_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=1000)
        suggested = serializers.BooleanField(
            required=False, default=False, help_text="the faces were a suggested group (the history records it)"
        )

        class Meta:
            ref_name = "PersonEnrol"

    @extend_schema(
        operation_id="people_faces_list",
        parameters=[PageFilterSerializer],
        responses={200: page_schema(FaceOutputSerializer), **ERRORS, **NOT_FOUND},
    )
    def get(self, request: Request, person_id: int) -> Response:
        return _person_face_page(request, self, person_id, selectors.person_faces)

    @extend_schema(
        operation_id="people_faces_enrol",
        request=InputSerializer,
        responses={
            200: inline_serializer(
                name="PersonEnrolResult",
                fields={"assigned": serializers.IntegerField(), "person": PersonOutputSerializer()},
            ),
            **ERRORS,
            **NOT_FOUND,
            **UNSUPPORTED_MEDIA_TYPE,
        },
        description="Enrols faces as this person (taking them from whoever had them). Any unknown id: 404, no change.",
    )
    def post(self, request: Request, person_id: int) -> Response:
        person = _person(request, person_id, Scope.MANAGE)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assigned = services.faces_assign(
            person=person, face_ids=serializer.validated_data["face_ids"], how=Face.Assignment.ENROLLED,
            caller=Caller.of(request),
            source=AssignmentEvent.How.SUGGESTION if serializer.validated_data["suggested"] else None,
        )  # fmt: skip
        return Response({"assigned": assigned, "person": _person_data(request, person_id)})


class PersonFaceDetailApi(APIView):
    @extend_schema(
        operation_id="people_faces_remove",
        responses={204: None, **ERRORS, **NOT_FOUND},
        description="Removes a wrong face from the person: the face stays, unassigned, and is recorded as not this "
        "person (listed under rejections), so it is not named or suggested as them again.",
    )
    def delete(self, request: Request, person_id: int, face_id: int) -> Response:
        person = _person(request, person_id, Scope.MANAGE)
        if not Face.objects.filter(id=face_id, person=person).exists():
            raise ApplicationError("This face is not one of the person's.", {"face_id": face_id}, status=404)
        services.faces_unassign(face_ids=[face_id], library_id=person.library_id, caller=Caller.of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PersonRejectionListApi(APIView):
    scopes = {"GET": Scope.READ, "POST": Scope.MANAGE}

    class InputSerializer(serializers.Serializer):
        face_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=1000)

        class Meta:
            ref_name = "PersonReject"

    @extend_schema(
        operation_id="people_rejections_list",
        parameters=[PageFilterSerializer],
        responses={200: page_schema(FaceOutputSerializer), **ERRORS, **NOT_FOUND},
        description="The faces recorded as not this person, most recently rejected first.",
    )
    def get(self, request: Request, person_id: int) -> Response:
        return _person_face_page(request, self, person_id, selectors.person_rejections)

    @extend_schema(
        operation_id="people_rejections_create",
        request=InputSerializer,
        responses={
            200: inline_serializer(
                name="PersonRejectResult",
                fields={
                    "rejected": serializers.IntegerField(help_text="rejections newly recorded"),
                    "unassigned": serializers.IntegerField(help_text="faces that were this person's, now unassigned"),
                },
            ),
            **ERRORS,
            **NOT_FOUND,
            **UNSUPPORTED_MEDIA_TYPE,
        },
        description="Not this person: the faces are never again named automatically or suggested as them (e.g. a "
        "wrong suggested or automatic name); those that were theirs become unassigned. Any unknown id: 404, no change.",
    )
    def post(self, request: Request, person_id: int) -> Response:
        person = _person(request, person_id, Scope.MANAGE)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.faces_reject(
            person=person, face_ids=serializer.validated_data["face_ids"], caller=Caller.of(request)
        )
        return Response({"rejected": result.rejected, "unassigned": result.unassigned})


class PersonRejectionDetailApi(APIView):
    @extend_schema(
        operation_id="people_rejections_undo",
        responses={204: None, **ERRORS, **NOT_FOUND},
        description="Undoes a rejection: the face may be suggested or named as this person again (it stays "
        "unassigned).",
    )
    def delete(self, request: Request, person_id: int, face_id: int) -> Response:
        person = _person(request, person_id, Scope.MANAGE)
        services.face_rejection_undo(person=person, face_id=face_id, caller=Caller.of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PersonMergeApi(APIView):
    class InputSerializer(serializers.Serializer):
        other_id = serializers.IntegerField(min_value=1, help_text="the person merged into this one, then deleted")

        class Meta:
            ref_name = "PersonMerge"

    class OutputSerializer(PersonOutputSerializer):
        class MergedSerializer(serializers.Serializer):
            id = serializers.IntegerField(help_text="undo it with POST merges/{id}/undo/")
            moved = serializers.IntegerField(help_text="faces moved here")
            left_unassigned = serializers.ListField(
                child=serializers.IntegerField(), source="left_rejected",
                help_text="faces of the other left unassigned: rejected for this person",
            )  # fmt: skip
            same_photo = serializers.ListField(
                child=serializers.IntegerField(), source="left_same_photo",
                help_text="faces of the other left unassigned: in a photo where this person already has a face",
            )  # fmt: skip

            class Meta:
                ref_name = "Merged"

        merge = MergedSerializer()

        class Meta:
            ref_name = "PersonMerged"

    @extend_schema(
        operation_id="people_merge",
        request=InputSerializer,
        responses={200: OutputSerializer, **ERRORS, **NOT_FOUND, **UNSUPPORTED_MEDIA_TYPE},
        description="Moves the other person's faces here and deletes it; this person keeps its name and cover. A face "
        "of the other that was rejected for this person, or that is in a photo where this person already has a face, "
        "is left unassigned instead; the other's rejections become this person's. The merge can be undone.",
    )
    def post(self, request: Request, person_id: int) -> Response:
        person = _person(request, person_id, Scope.MANAGE)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        other = _person(request, serializer.validated_data["other_id"], Scope.MANAGE)
        merge = services.person_merge(person=person, other=other, caller=Caller.of(request))
        merged = selectors.person_list(caller=Caller.of(request)).get(id=person_id)
        merged.merge = merge
        return Response(self.OutputSerializer(merged, context={"request": request}).data)


class PersonMergeUndoApi(APIView):
    @extend_schema(
        operation_id="people_merges_undo",
        request=None,
        responses={
            200: OpenApiResponse(PersonOutputSerializer, description="the merged person, back"),
            **ERRORS,
            **NOT_FOUND,
            **error_responses({409: "already undone, or some of its faces changed since (`extra.face_ids`)"}),
        },
        description="Undoes a merge into this person: the other person comes back (same id) with exactly the faces "
        "it had (those the merge left unassigned too), their assignments, its rejections, notes and marks. Refused "
        "while any of those faces changed since the merge.",
    )
    def post(self, request: Request, person_id: int, merge_id: int) -> Response:
        person = _person(request, person_id, Scope.MANAGE)
        merge = person.merges.filter(id=merge_id).first()
        if merge is None:
            raise ApplicationError("No such merge.", {"merge_id": merge_id}, status=404)
        other = services.merge_undo(merge=merge, caller=Caller.of(request))
        return Response(_person_data(request, other.pk))


class HistoryOutputSerializer(serializers.Serializer):
    class MergeRefSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        other_name = serializers.CharField(help_text="who was merged in")
        undone_at = serializers.DateTimeField(allow_null=True)

        class Meta:
            ref_name = "MergeRef"

    id = serializers.IntegerField()
    at = serializers.DateTimeField(source="created_at")
    how = serializers.ChoiceField(choices=AssignmentEvent.How.choices)
    face_id = serializers.IntegerField()
    crop_url = serializers.SerializerMethodField()
    person = PersonRefSerializer(allow_null=True, help_text="whose the face became; null: unassigned")
    previous_person = PersonRefSerializer(allow_null=True, help_text="whose it was; null: nobody's (or deleted)")
    assignment = serializers.CharField(help_text="the face's assignment after: manual, enrolled, automatic or empty")
    distance = serializers.FloatField(allow_null=True, help_text="identification's distance, when automatic")
    by = serializers.CharField(source="created_by", help_text="username, key:<name>, or empty for the system")
    merge = MergeRefSerializer(allow_null=True)

    class Meta:
        ref_name = "AssignmentEvent"

    def get_crop_url(self, event: AssignmentEvent) -> str:
        return face_crop_url(self.context, event.face_id)


class PersonHistoryApi(APIView):
    @extend_schema(
        operation_id="people_history",
        parameters=[PageFilterSerializer],
        responses={200: page_schema(HistoryOutputSerializer), **ERRORS, **NOT_FOUND},
        description="Every change of a face to or from this person, newest first, with how it was made (by hand, "
        "enrolled, automatically with its distance, from a suggestion, a merge, a split, removed, rejected) and by "
        "whom. A deleted face or person takes its changes with it.",
    )
    def get(self, request: Request, person_id: int) -> Response:
        return list_response(
            request,
            self,
            filter_serializer_class=PageFilterSerializer,
            selector=lambda caller, filters: selectors.person_history(person=_person(request, person_id)),
            output_serializer_class=HistoryOutputSerializer,
        )


class PersonSplitApi(APIView):
    scopes = {"GET": Scope.SEARCH, "POST": Scope.MANAGE}  # who looks like whom: an identity operation, like a search

    class InputSerializer(serializers.Serializer):
        face_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=1000)
        person_id = serializers.IntegerField(required=False, min_value=1, help_text="an existing person to move to")
        name = serializers.CharField(required=False, max_length=200, help_text="or a new person's name")

        class Meta:
            ref_name = "PersonSplit"

        def validate(self, data: dict) -> dict:
            if ("person_id" in data) == bool(data.get("name", "").strip()):
                raise serializers.ValidationError("Give either person_id or name.")
            return data

    class OutputSerializer(serializers.Serializer):
        class GroupSerializer(serializers.Serializer):
            faces = FaceOutputSerializer(many=True)
            distance = serializers.FloatField(help_text="from the group's mean face to the person's")

            class Meta:
                ref_name = "SplitGroup"

        kept = FaceOutputSerializer(many=True, help_text="the largest group, and the groups near it: the person")
        groups = GroupSerializer(many=True, help_text="faces that look like someone else, largest group first")
        max_distance = serializers.FloatField(help_text="the grouping cut (the encoder's group_distance)")
        offer_distance = serializers.FloatField(help_text="a group farther than this from the person is offered")

        class Meta:
            ref_name = "PersonSplitGroups"

    @extend_schema(
        operation_id="people_split_groups",
        responses={200: OutputSerializer, **ERRORS, **NOT_FOUND},
        description="The person's faces grouped as the suggestions group unknown faces (two faces of one photo never "
        "together): the largest group is the person; another group is offered as someone else when its mean face is "
        "farther from the person's than the encoder's 1:1 threshold (`offer_distance`), else it is kept.",
    )
    def get(self, request: Request, person_id: int) -> Response:
        person = _person(request, person_id, Scope.SEARCH)
        split = services.person_split_show(caller=Caller.of(request), person=person)
        return Response(self.OutputSerializer(split, context={"request": request}).data)

    @extend_schema(
        operation_id="people_split",
        request=InputSerializer,
        responses={
            200: inline_serializer(
                name="PersonSplitResult",
                fields={"moved": serializers.IntegerField(), "person": PersonOutputSerializer()},
            ),
            **ERRORS,
            **NOT_FOUND,
            **UNSUPPORTED_MEDIA_TYPE,
        },
        description="Moves some of this person's faces to another person of the library (`person_id`) or to a new one "
        "(`name`), in one step. Ids that are not this person's faces: 404, no change.",
    )
    def post(self, request: Request, person_id: int) -> Response:
        person = _person(request, person_id, Scope.MANAGE)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        caller = Caller.of(request)
        to = None
        if "person_id" in data:
            people = Person.objects.filter(library_id=person.library_id)
            to = object_get(people, caller, Scope.MANAGE, noun="person", id=data["person_id"])
        to = services.person_split(
            person=person, face_ids=data["face_ids"], to=to, name=data.get("name", ""), caller=caller
        )
        return Response({"moved": len(set(data["face_ids"])), "person": _person_data(request, to.pk)})


class PersonSuggestionListApi(APIView):
    scopes = {"GET": Scope.SEARCH}  # who looks like whom: an identity operation, like a search

    class FilterSerializer(serializers.Serializer):
        limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20, help_text="groups")
        library = serializers.IntegerField(
            required=False, min_value=1, help_text="whose unknown faces; default: your personal library (or a key's)"
        )

    class OutputSerializer(serializers.Serializer):
        class GroupSerializer(serializers.Serializer):
            id = serializers.IntegerField(help_text="the stored group (changes when maintenance re-clusters it)")
            faces = FaceOutputSerializer(many=True)
            person = PersonRefSerializer(allow_null=True, help_text="the enrolled person these faces look like")
            distance = serializers.FloatField(allow_null=True, help_text="from the group's mean face to that person")
            review = serializers.BooleanField(
                help_text="the distance is in the margin just under the cut: look before naming (not named "
                "automatically)"
            )

            class Meta:
                ref_name = "SuggestedGroup"

        groups = GroupSerializer(many=True)
        considered = serializers.IntegerField(help_text="unassigned faces grouping has placed so far")
        unassigned = serializers.IntegerField(help_text="all unassigned faces")
        max_distance = serializers.FloatField(help_text="the average-linkage cut the groups were made at")

        class Meta:
            ref_name = "SuggestedPeople"

    @extend_schema(
        operation_id="people_suggestions",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer, **ERRORS, **LIBRARY_NOT_FOUND},
        description="Unassigned faces grouped as one person each (largest groups first), each group named after "
        "the enrolled person it looks like, if any (never a hidden person, nor one a face of the group was rejected "
        "for, nor one who already has a face in one of its photos). Faces that look like nobody else are not in a "
        "group; a single face is listed when it is near an enrolled person but in the review margin (`review`). "
        "Groups are stored and kept up to date as faces arrive and by a periodic task, over every unassigned face; "
        "nothing is assigned until a client enrols them.",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        caller = Caller.of(request)
        library = caller.library_or_default(data.pop("library", None), Scope.SEARCH)
        suggestions = services.face_groups_show(caller=caller, library=library, **data)
        return Response(self.OutputSerializer(suggestions, context={"request": request}).data)
