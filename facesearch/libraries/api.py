"""REST API of libraries: the caller's libraries, sharing (members and roles), applications' API keys, the audit log
and erasure receipts. Settings, members, keys, the log and deletion are the owners' (`OWN`); a key never has it.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from facesearch.core.api import (
    NOT_AUTHENTICATED,
    PAGE_NOT_FOUND,
    UNSUPPORTED_MEDIA_TYPE,
    PageFilterSerializer,
    error_responses,
    list_response,
    page_schema,
)
from facesearch.core.errors import ApplicationError
from facesearch.libraries import selectors, services
from facesearch.libraries.access import OWN, Caller, library_get
from facesearch.libraries.erasure import library_erase
from facesearch.libraries.models import ApiKey, AuditEntry, Library, Role, Scope


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """The API key in the schema's security schemes, beside the token and the session."""

    target_class = "facesearch.libraries.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key fsk_…`: an application's key to one library, limited to its scopes",
        }


ERRORS = {**error_responses({400: "invalid input; nothing changed"}), **NOT_AUTHENTICATED}
NOT_FOUND = error_responses({404: "no such library (or member, or key) among yours"})


class LibraryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField(help_text="yours: viewer, editor or owner (empty for an API key)")
    scopes = serializers.SerializerMethodField(
        help_text="what you may do here: read, upload, search, manage, and `own` (share, keys, audit, delete)"
    )
    personal = serializers.SerializerMethodField(help_text="your personal library: uploads go here by default")
    photo_count = serializers.IntegerField()
    face_count = serializers.IntegerField()
    person_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Library"

    def get_scopes(self, library: Library) -> list[str]:
        request = self.context.get("request")
        return sorted(Caller.of(request).scopes_in(library, role=library.role)) if request else []

    def get_personal(self, library: Library) -> bool:
        request = self.context.get("request")
        return request is not None and library.personal_for_id == request.user.pk


class MemberOutputSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=Role.choices)
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "LibraryMember"


class ApiKeyOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="the key starts with fsk_<prefix>_")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices))
    expires_at = serializers.DateTimeField(allow_null=True)
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True, help_text="to the minute")
    revoked_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "ApiKey"


class AuditEntryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=AuditEntry.Kind.choices)
    username = serializers.CharField(help_text="who, kept when the account is deleted")
    api_key = serializers.CharField(source="api_key_name", help_text="the application's key, if one was used")
    library_ids = serializers.ListField(child=serializers.IntegerField())
    result_count = serializers.IntegerField()
    best_distance = serializers.FloatField(allow_null=True)
    succeeded = serializers.BooleanField()
    detail = serializers.DictField()

    class Meta:
        ref_name = "AuditEntry"


class ErasureReceiptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    subject = serializers.CharField(help_text="person or library")
    subject_id = serializers.IntegerField()
    library_id = serializers.IntegerField()
    library_name = serializers.CharField()
    requested_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    removed = serializers.DictField(child=serializers.IntegerField(), help_text="counts of what was removed")
    verification = serializers.DictField(help_text="what the scan after the erasure found (all zero: nothing left)")
    verified = serializers.BooleanField()

    class Meta:
        ref_name = "ErasureReceipt"


def _library_data(request: Request, library_id: int) -> dict:
    caller = Caller.of(request)
    library = selectors.library_list(caller=caller).filter(id=library_id).first()
    if library is None:
        raise ApplicationError("No such library.", {"id": library_id}, status=404)
    return LibraryOutputSerializer(library, context={"request": request}).data


class LibraryListApi(APIView):
    scopes = {"POST": OWN}

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)

        class Meta:
            ref_name = "LibraryCreate"

    @extend_schema(
        operation_id="libraries_list",
        parameters=[PageFilterSerializer],
        responses={200: page_schema(LibraryOutputSerializer), **ERRORS, **PAGE_NOT_FOUND},
        description="The libraries you may read, with your role; an API key sees its own library.",
    )
    def get(self, request: Request) -> Response:
        return list_response(
            request, self, filter_serializer_class=PageFilterSerializer, selector=selectors.library_list,
            output_serializer_class=LibraryOutputSerializer,
        )  # fmt: skip

    @extend_schema(
        operation_id="libraries_create",
        request=InputSerializer,
        responses={201: LibraryOutputSerializer, **ERRORS, **UNSUPPORTED_MEDIA_TYPE},
        description="A new library, owned by you.",
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        library = services.library_create(name=serializer.validated_data["name"], owner=request.user)
        return Response(_library_data(request, library.id), status=status.HTTP_201_CREATED)


class LibraryDetailApi(APIView):
    scopes = {"PATCH": OWN, "DELETE": OWN}

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)

        class Meta:
            ref_name = "LibraryUpdate"

    @extend_schema(operation_id="libraries_retrieve", responses={200: LibraryOutputSerializer, **ERRORS, **NOT_FOUND})
    def get(self, request: Request, library_id: int) -> Response:
        return Response(_library_data(request, library_id))

    @extend_schema(
        operation_id="libraries_update",
        request=InputSerializer,
        responses={200: LibraryOutputSerializer, **ERRORS, **NOT_FOUND, **UNSUPPORTED_MEDIA_TYPE},
    )
    def patch(self, request: Request, library_id: int) -> Response:
        library = library_get(Caller.of(request), library_id, OWN)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.library_update(library=library, name=serializer.validated_data["name"])
        return Response(_library_data(request, library_id))

    @extend_schema(
        operation_id="libraries_destroy",
        responses={200: ErasureReceiptSerializer, **ERRORS, **NOT_FOUND},
        description="Erases the library: every photo (and its file), face, person, job, key and membership, then "
        "verifies nothing is left; the answer is the erasure receipt.",
    )
    def delete(self, request: Request, library_id: int) -> Response:
        caller = Caller.of(request)
        receipt = library_erase(library=library_get(caller, library_id, OWN), caller=caller)
        return Response(ErasureReceiptSerializer(receipt).data)


class MemberListApi(APIView):
    scopes = {"POST": OWN}

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        role = serializers.ChoiceField(choices=Role.choices)

        class Meta:
            ref_name = "LibraryShare"

    @extend_schema(
        operation_id="libraries_members_list",
        parameters=[PageFilterSerializer],
        responses={200: page_schema(MemberOutputSerializer), **ERRORS, **NOT_FOUND},
        description="Who may use the library, and as what. Keys cannot list members.",
    )
    def get(self, request: Request, library_id: int) -> Response:
        def members(caller: Caller, filters: dict):
            if caller.key is not None:
                raise ApplicationError("API keys cannot list members.", {}, status=403)
            return selectors.member_list(library=library_get(caller, library_id))

        return list_response(
            request, self, filter_serializer_class=PageFilterSerializer, selector=members,
            output_serializer_class=MemberOutputSerializer,
        )  # fmt: skip

    @extend_schema(
        operation_id="libraries_members_set",
        request=InputSerializer,
        responses={200: MemberOutputSerializer, **ERRORS, **NOT_FOUND, **UNSUPPORTED_MEDIA_TYPE},
        description="Share the library with a user as viewer (read, search), editor (also upload, name, merge, "
        "delete) or owner (also members, keys, the audit log, deletion); or change their role.",
    )
    def post(self, request: Request, library_id: int) -> Response:
        library = library_get(Caller.of(request), library_id, OWN)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.member_set(library=library, **serializer.validated_data)
        return Response(MemberOutputSerializer(membership).data)


class MemberDetailApi(APIView):
    @extend_schema(
        operation_id="libraries_members_remove",
        responses={204: None, **ERRORS, **NOT_FOUND},
        description="Stop sharing the library with this user (owners), or leave it (yourself).",
    )
    def delete(self, request: Request, library_id: int, user_id: int) -> Response:
        caller = Caller.of(request)
        leaving = caller.user is not None and caller.user.pk == user_id and caller.key is None
        library = library_get(caller, library_id, Scope.READ if leaving else OWN)
        services.member_remove(library=library, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyListApi(APIView):
    scopes = {"GET": OWN, "POST": OWN}

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices), min_length=1)
        expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

        class Meta:
            ref_name = "ApiKeyCreate"

    class CreatedOutputSerializer(ApiKeyOutputSerializer):
        key = serializers.CharField(help_text="the key: shown this once, stored only as its hash")

        class Meta:
            ref_name = "ApiKeyCreated"

    @extend_schema(
        operation_id="libraries_keys_list",
        parameters=[PageFilterSerializer],
        responses={200: page_schema(ApiKeyOutputSerializer), **ERRORS, **NOT_FOUND},
    )
    def get(self, request: Request, library_id: int) -> Response:
        return list_response(
            request, self, filter_serializer_class=PageFilterSerializer,
            selector=lambda caller, filters: selectors.api_key_list(library=library_get(caller, library_id, OWN)),
            output_serializer_class=ApiKeyOutputSerializer,
        )  # fmt: skip

    @extend_schema(
        operation_id="libraries_keys_create",
        request=InputSerializer,
        responses={201: CreatedOutputSerializer, **ERRORS, **NOT_FOUND, **UNSUPPORTED_MEDIA_TYPE},
        description="A key for an application, limited to this library and its scopes: read, upload, search "
        "(search, identify, verify), manage (people, assignments, deletion). Send it as `Authorization: Api-Key "
        "<key>`. The key is in this answer only.",
    )
    def post(self, request: Request, library_id: int) -> Response:
        library = library_get(Caller.of(request), library_id, OWN)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row, key = services.api_key_create(library=library, created_by=request.user, **serializer.validated_data)
        row.key = key
        return Response(self.CreatedOutputSerializer(row).data, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(APIView):
    scopes = {"DELETE": OWN}

    @extend_schema(
        operation_id="libraries_keys_revoke",
        responses={200: ApiKeyOutputSerializer, **ERRORS, **NOT_FOUND},
        description="Revoke the key: it stops working at once; it stays listed, revoked.",
    )
    def delete(self, request: Request, library_id: int, key_id: int) -> Response:
        library = library_get(Caller.of(request), library_id, OWN)
        key = ApiKey.objects.filter(library=library, id=key_id).first()
        if key is None:
            raise ApplicationError("No such key.", {"id": key_id}, status=404)
        return Response(ApiKeyOutputSerializer(services.api_key_revoke(key=key)).data)


class AuditListApi(APIView):
    scopes = {"GET": OWN}

    class FilterSerializer(PageFilterSerializer):
        kind = serializers.ChoiceField(choices=AuditEntry.Kind.choices, required=False)
        username = serializers.CharField(required=False)

    @extend_schema(
        operation_id="audit_list",
        parameters=[FilterSerializer],
        responses={200: page_schema(AuditEntryOutputSerializer), **ERRORS, **PAGE_NOT_FOUND},
        description="Every search, identification, verification and change of who is who in the libraries you own, "
        "newest first (failed ones too).",
    )
    def get(self, request: Request) -> Response:
        return list_response(
            request, self, filter_serializer_class=self.FilterSerializer, selector=selectors.audit_list,
            output_serializer_class=AuditEntryOutputSerializer,
        )  # fmt: skip


class ErasureListApi(APIView):
    scopes = {"GET": OWN}

    @extend_schema(
        operation_id="erasures_list",
        parameters=[PageFilterSerializer],
        responses={200: page_schema(ErasureReceiptSerializer), **ERRORS, **PAGE_NOT_FOUND},
        description="Receipts of the erasures in the libraries you own, and of those you requested (a deleted "
        "library's included).",
    )
    def get(self, request: Request) -> Response:
        return list_response(
            request, self, filter_serializer_class=PageFilterSerializer, selector=selectors.erasure_list,
            output_serializer_class=ErasureReceiptSerializer,
        )  # fmt: skip
