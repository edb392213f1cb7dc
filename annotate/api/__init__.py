"""The REST API under /api/v1/: thin views over annotate's services and selectors."""
