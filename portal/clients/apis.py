"""/api/v1/apps/: register a client app, issue its credentials; staff decide on apps."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts.permissions import IsStaff
from portal.clients import selectors, services, webhook_services
from portal.clients.models import AppStatus, ClientApp


class CredentialSerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "AppCredential"

    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class AppSerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "ClientApp"

    id = serializers.IntegerField()
    name = serializers.CharField()
    website = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField()
    status_reason = serializers.CharField()
    owner = serializers.CharField(source="owner.username")
    created_at = serializers.DateTimeField()
    reviewed_at = serializers.DateTimeField(allow_null=True)
    webhook_url = serializers.CharField()
    credentials = serializers.SerializerMethodField()

    def get_credentials(self, app: ClientApp) -> list[dict[str, Any]]:
        return list(CredentialSerializer(app.credentials.all(), many=True).data)


class AppListApi(APIView):
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "ClientAppCreate"

        name = serializers.CharField(max_length=80)
        website = serializers.URLField(required=False, allow_blank=True, default="")
        description = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(responses=AppSerializer(many=True), summary="My client apps")
    def get(self, request: Request) -> Response:
        apps = selectors.apps_of(owner=request.user)  # type: ignore[arg-type]
        return Response(AppSerializer(apps, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: AppSerializer},
        summary="Register a client app; it reports plays once staff approve it",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        app = services.app_register(owner=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(AppSerializer(app).data, status=status.HTTP_201_CREATED)


class CredentialListApi(APIView):
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "AppCredentialCreate"

        name = serializers.CharField(max_length=80, required=False, default="credential")

    class CreatedSerializer(CredentialSerializer):
        class Meta:
            ref_name = "AppCredentialCreated"

        credential = serializers.CharField(help_text="Shown once; store it in the app now.")

    @extend_schema(
        request=InputSerializer,
        responses={201: CreatedSerializer},
        summary="Issue a credential for one of my approved apps (shown once)",
    )
    def post(self, request: Request, app_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.credential_issue(
            app_id=app_id,
            actor=request.user,  # type: ignore[arg-type]
            name=data.validated_data["name"],
        )
        body = dict(CredentialSerializer(issued.credential).data)
        body["credential"] = issued.plain
        return Response(body, status=status.HTTP_201_CREATED)


class CredentialRevokeApi(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Revoke an app credential")
    def delete(self, request: Request, app_id: int, credential_id: int) -> Response:
        services.credential_revoke(credential_id=credential_id, actor=request.user)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class AppDecisionApi(APIView):
    permission_classes = [IsStaff]

    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "ClientAppDecision"

        status = serializers.ChoiceField(
            choices=[AppStatus.APPROVED, AppStatus.REJECTED, AppStatus.SUSPENDED]
        )
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        request=InputSerializer,
        responses=AppSerializer,
        summary="Staff: approve, reject, suspend or reinstate a client app",
    )
    def post(self, request: Request, app_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        app = services.app_decide(app_id=app_id, actor=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(AppSerializer(app).data)


class DeliverySerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "WebhookDelivery"

    event_id = serializers.CharField()
    event_type = serializers.CharField()
    status = serializers.CharField(help_text="pending, delivered or failed")
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    attempt_log = serializers.JSONField()
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)


class AppWebhookApi(APIView):
    """The owner's view of an app's completion webhook: URL, signing secret, recent deliveries."""

    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "AppWebhookSet"

        url = serializers.URLField(
            max_length=500,
            allow_blank=True,
            help_text="https://, a public address; empty removes the webhook",
        )
        rotate_secret = serializers.BooleanField(default=False)

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "AppWebhook"

        url = serializers.CharField(source="webhook_url")
        secret = serializers.CharField(
            source="webhook_secret",
            help_text="Verifies each delivery's Stemvault-Signature (see the README)",
        )
        deliveries = serializers.SerializerMethodField()

        def get_deliveries(self, app: ClientApp) -> list[dict[str, Any]]:
            recent = selectors.webhook_deliveries(app=app)[:20]
            return list(DeliverySerializer(recent, many=True).data)

    @extend_schema(responses=OutputSerializer, summary="My app's webhook and its last deliveries")
    def get(self, request: Request, app_id: int) -> Response:
        app = selectors.app_of(owner=request.user, app_id=app_id)  # type: ignore[arg-type]
        return Response(self.OutputSerializer(app).data)

    @extend_schema(
        request=InputSerializer,
        responses=OutputSerializer,
        summary="Set my app's webhook URL (done and failed renders are POSTed there, signed)",
    )
    def put(self, request: Request, app_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        app = webhook_services.app_webhook_set(
            app_id=app_id,
            actor=request.user,  # type: ignore[arg-type]
            url=data.validated_data["url"],
            rotate_secret=data.validated_data["rotate_secret"],
        )
        return Response(self.OutputSerializer(app).data)
