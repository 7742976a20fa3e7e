"""The Sync API as GraphQL, beside the REST one (portal.mixes.apis): the same soundtracks, the
same service and checks behind them, one endpoint (/api/v1/graphql/).

`types` describes a soundtrack, `schema` holds the queries, the mutation and how a domain
error becomes a GraphQL error, `views` puts DRF's authentication, permissions and throttles in
front. The served schema adds the catalogue's queries (portal.site.graphql, above both
domains); its printed form is checked in (portal/site/schema.graphql; `make graphql-schema`
rewrites it) and tests/mixes/test_graphql.py fails when they drift.
"""
