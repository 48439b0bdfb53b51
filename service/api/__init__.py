"""The HTTP API (the ``api`` role): health, and the /v1 resources."""
