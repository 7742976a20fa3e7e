from __future__ import annotations

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "portal.jobs"
    label = "jobs"

    def ready(self) -> None:
        # Every domain registers its job kinds in its tasks.py; importing them here means the
        # web process (which enqueues) and the worker (which runs) know the same kinds. The jobs
        # app's own tasks.py declares the actors on the broker, which jobs ring by name.
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("tasks")
