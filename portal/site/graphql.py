"""The GraphQL schema served at /api/v1/graphql/: the Sync API's soundtracks
(portal.mixes.graphql) and the catalogue (portal.catalogue.graphql) in one document.

It is put together here because the catalogue stands above mixes in the domains' layers: mixes
may not import it, and site may import both. The printed schema is checked in beside this
file (schema.graphql; `make graphql-schema` rewrites it) and tests/mixes/test_graphql.py fails
when the two drift.
"""

from __future__ import annotations

from portal.catalogue.graphql import CatalogueMutation, CatalogueQuery
from portal.mixes.graphql.schema import sync_schema

schema = sync_schema(queries=(CatalogueQuery,), mutations=(CatalogueMutation,))
