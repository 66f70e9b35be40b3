"""The FastAPI model server, and the small client the core uses to hot-swap it."""
