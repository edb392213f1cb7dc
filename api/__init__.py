"""The REST API under /api/v1/: thin views over the services and selectors of
annotate (collection) and training (rounds, model versions). It sits above both;
neither imports it."""
