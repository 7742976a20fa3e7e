from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts import services
from portal.accounts.models import TokenScope


class MeApi(APIView):
    allowed_token_scopes = ("app",)

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "Me"

        id = serializers.IntegerField()
        username = serializers.CharField()
        role = serializers.CharField()
        display_name = serializers.CharField()

    @extend_schema(responses=OutputSerializer, summary="The account behind this request")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(request.user).data)


class TokenListApi(APIView):
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "TokenCreate"

        name = serializers.CharField(max_length=80)
        scope = serializers.ChoiceField(choices=TokenScope.choices, default=TokenScope.FULL)

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "Token"

        id = serializers.IntegerField()
        name = serializers.CharField()
        prefix = serializers.CharField()
        scope = serializers.CharField()
        created_at = serializers.DateTimeField()
        last_used_at = serializers.DateTimeField(allow_null=True)
        revoked_at = serializers.DateTimeField(allow_null=True)

    class CreatedSerializer(OutputSerializer):
        class Meta:
            ref_name = "TokenCreated"

        token = serializers.CharField(help_text="Shown once; store it now.")

    @extend_schema(responses=OutputSerializer(many=True), summary="List my API tokens")
    def get(self, request: Request) -> Response:
        tokens = request.user.api_tokens.all()  # type: ignore[union-attr]
        return Response(self.OutputSerializer(tokens, many=True).data)

    @extend_schema(
        request=InputSerializer, responses={201: CreatedSerializer}, summary="Create an API token"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.token_issue(user=request.user, **data.validated_data)  # type: ignore[arg-type]
        body = dict(self.OutputSerializer(issued.token).data)
        body["token"] = issued.plain
        return Response(body, status=status.HTTP_201_CREATED)


class TokenRevokeApi(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Revoke an API token")
    def delete(self, request: Request, token_id: int) -> Response:
        services.token_revoke(user=request.user, token_id=token_id)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)
