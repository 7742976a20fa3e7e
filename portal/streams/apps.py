from __future__ import annotations

from django.apps import AppConfig


class StreamsConfig(AppConfig):
    name = "portal.streams"
    label = "streams"

    def ready(self) -> None:
        from portal.mixes.clearance import clearance_source_register
        from portal.royalties.verify_checks import verify_check_register
        from portal.streams import checks, tasks  # noqa: F401  (registers checks and job kinds)
        from portal.streams.clearance import stream_sources
        from portal.streams.verification import stream_listening_verify

        # verify_period checks the rows stream plays came from, without importing streams.
        verify_check_register("streams", stream_listening_verify)
        # The clearance lookup names a stream's audio by its app, without importing streams.
        clearance_source_register("stream", stream_sources)
