"""The FastAPI model server, and the small client the core uses to hot-swap it."""

# How every launcher runs `uvicorn --factory serving.main:create_app` (`./mlops up`, the image, the
# Deployment, the bench; tests check each): X-Forwarded-* is read by nobody here (uvicorn's
# proxy-headers middleware cost ~10% of a one-row request), and uvicorn's access log is off (a line
# per request cost ~35%): the server logs failed and slow requests itself (`serving.request_log`);
# scoring requests are answered in one write by the server's own protocol class (uvicorn's
# httptools one, less the ASGI send per message: 12% less CPU a request; `serving.http_protocol`);
# no WebSocket protocol (the server has no WebSocket route; importing one cost 0.1 s of its start).
UVICORN_FLAGS = (
    "--no-proxy-headers",
    "--no-access-log",
    "--http",
    "serving.http_protocol:ModelServerProtocol",
    "--ws",
    "none",
)
