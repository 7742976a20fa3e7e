"""factory_boy factories, one module per domain, and the suite's one audio builder (`audio`).

Factories that go through a service say so in their docstring: where the product creates a row
through a service (a user through user_create, an app through app_register/app_decide), the
factory does too, so a test's data is data the product could have made.
"""
