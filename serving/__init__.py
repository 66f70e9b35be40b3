"""The FastAPI model server, and the small client the core uses to hot-swap it."""

# How every launcher runs `uvicorn --factory serving.main:create_app` (`./mlops up`, the image, the
# Deployment, the bench): X-Forwarded-* is read by nobody here, and uvicorn's proxy-headers
# middleware cost ~10% of a one-row request.
UVICORN_FLAGS = ("--no-proxy-headers",)
