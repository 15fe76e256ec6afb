"""The HTTP edge: routes, schemas, problems, auth and middleware."""
