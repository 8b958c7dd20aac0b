"""Business logic between the thin API views and the models."""
