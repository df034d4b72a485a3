"""The ASGI edge: the app factory, its middleware and the offline GraphiQL page."""
