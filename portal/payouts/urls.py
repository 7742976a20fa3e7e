from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from portal.payouts import views

app_name = "payouts"

urlpatterns: list[URLPattern | URLResolver] = [
    path("payouts/", views.home, name="home"),
    path("payouts/onboarding/start/", views.onboarding_start, name="onboarding_start"),
    path("payouts/onboarding/return/", views.onboarding_return, name="onboarding_return"),
    path("payouts/onboarding/refresh/", views.onboarding_refresh, name="onboarding_refresh"),
    path("payouts/runs/", views.runs, name="runs"),
    path("payouts/runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
]
