"""The /v1 resources, one module each: endpoint handlers over the shared store (``store.py``).

No HTTP here: handlers take parsed params (nested dicts, string leaves, exactly as stripe-python
form-encodes them), mutate the store and return a JSON object or raise
:class:`~stripe_server.params.StripeError`.
"""
