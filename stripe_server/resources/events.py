"""Events (``/v1/events``): what every state change recorded, newest first."""

from __future__ import annotations

import fnmatch

from ..params import StripeError, check_unknown, get_str, invalid
from ..store import JSON, PAGINATION, RETRIEVE, RequestContext, Store

EVENT_LIST = PAGINATION | {"created", "delivery_success", "type", "types"}


class Events(Store):
    """List and retrieve events (the same objects the webhooks deliver)."""

    def list_events(self, ctx: RequestContext, params: JSON) -> JSON:
        check_unknown(params, EVENT_LIST)
        keep = self._created_filter(params)
        pattern = get_str(params, "type")
        types = params.get("types")
        if types is not None and not isinstance(types, list):
            types = [types]
        if pattern and types:
            raise invalid("You may only specify one of these parameters: type, types.", "types")
        items = [
            e
            for e in reversed(self.events.values())
            if keep(e)
            and (pattern is None or fnmatch.fnmatchcase(e["type"], pattern))
            and (not types or e["type"] in types)
        ]
        return self._paginate(items, params, "/v1/events", "event")

    def retrieve_event(self, ctx: RequestContext, params: JSON, id: str) -> JSON:
        check_unknown(params, RETRIEVE)
        event = self.events.get(id)
        if event is None:
            raise StripeError(404, f"No such event: '{id}'", code="resource_missing", param="id")
        return self._out(event, params)
