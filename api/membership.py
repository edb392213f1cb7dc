"""Who belongs to a project, managed through the API by the project's leads.

GET    /api/v1/projects/<id>/members/             the members and their roles
POST   /api/v1/projects/<id>/members/             {"username", "role"}: add, or re-role
DELETE /api/v1/projects/<id>/members/<username>/  remove; open tasks go back to the pool

Anyone the lead rule lets lead the project (a lead of it, or a superuser) manages every
membership of it, leads' included. Members who do not lead it get 403; everyone else
404, as for the project itself. What a removed member submitted or skipped stays.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from annotate import services
from annotate.models import Membership, Project
from api import permissions


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["username", "role"]


class MemberAddSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, help_text="An existing user's.")
    role = serializers.ChoiceField(
        Membership.Role.choices, default=Membership.Role.ANNOTATOR
    )

    def validate_username(self, username: str) -> User:
        """The user of that name."""
        user = User.objects.filter(username=username).first()
        if user is None:
            raise serializers.ValidationError(
                f"No user named {username!r}; an admin creates accounts, then a "
                "lead adds them here."
            )
        return user


class MemberRemovedSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField(help_text="The role they had.")
    released_assignments = serializers.IntegerField(
        help_text="Their open tasks, deleted so other annotators get the prompts."
    )


class LedProjectMixin(generics.GenericAPIView):
    """The project named in the path, which the caller must lead."""

    @cached_property
    def project(self) -> Project:
        user = self.request.user
        assert isinstance(user, User)
        return permissions.led_project(
            user, self.kwargs["project_id"], "manage its members"
        )

    def memberships(self) -> QuerySet[Membership]:
        return Membership.objects.filter(project=self.project).select_related("user")


class MemberListView(LedProjectMixin, generics.ListCreateAPIView):
    """Leads: the project's members, by username."""

    serializer_class = MemberSerializer

    def get_queryset(self) -> QuerySet[Membership]:
        # Schema generation asks with no project; an empty queryset is enough.
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        return self.memberships().order_by("user__username")

    @extend_schema(
        request=MemberAddSerializer,
        responses={201: MemberSerializer, 200: MemberSerializer},
        description="Leads: add a user with a role (default annotator), 201; or "
        "change a member's role, 200.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = self.project  # who may ask comes before what was asked
        body = MemberAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = body.validated_data["username"]  # the User of that name
        created = not self.memberships().filter(user=user).exists()
        membership = services.membership_set(
            project=project, user=user, role=body.validated_data["role"]
        )
        return Response(
            MemberSerializer(membership).data, status=201 if created else 200
        )


class MemberDetailView(LedProjectMixin):
    """Leads: remove a member."""

    serializer_class = MemberRemovedSerializer

    @extend_schema(
        responses={200: MemberRemovedSerializer},
        description="Leads: remove the member. What they submitted or skipped stays; "
        "their open tasks are deleted so the prompts go back to the pool.",
    )
    def delete(self, request: Request, project_id: int, username: str) -> Response:
        membership = self.memberships().filter(user__username=username).first()
        if membership is None:
            raise NotFound(f"No member {username!r} in project {self.project.pk}.")
        released = services.membership_remove(
            project=self.project, user=membership.user
        )
        body = {
            "username": username,
            "role": membership.role,
            "released_assignments": released,
        }
        return Response(MemberRemovedSerializer(body).data)
