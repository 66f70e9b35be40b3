# The platform image: the Dagster code location (core_assets), the model server (serving) and the
# launcher, with the locked dependencies. Kubernetes runs it as the user-code deployment and as
# every run's pod (envs/<env>/dagster/values.yaml), and as the model server and MLflow server
# Deployments (gitops/base/).
# Built from a pinned base; no Docker engine exists on the machines this repository is developed
# on, so the suite lints this file with hadolint but never builds it.

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM python:3.11.14-slim-bookworm AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /app
# dependencies first (exactly uv.lock, no dev group), so code changes reuse this layer
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY mlops_base ./mlops_base
COPY serving_client ./serving_client
COPY layer_api ./layer_api
COPY core_assets ./core_assets
COPY serving ./serving
COPY optional_layers ./optional_layers
COPY model_examples ./model_examples
COPY mlops_platform ./mlops_platform
COPY envs ./envs
COPY workspace.yaml ./
RUN uv sync --frozen --no-dev --no-editable \
    && /opt/venv/bin/python -m mlops_platform.unwanted_plugins

FROM python:3.11.14-slim-bookworm
# GCC's OpenMP runtime: LightGBM's wheel links it
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1=12.2.0-14+deb12u1 \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 mlops \
    && useradd --system --uid 10001 --gid mlops --home-dir /app --shell /usr/sbin/nologin mlops
COPY --from=build --chown=root:root /opt/venv /opt/venv
COPY --from=build --chown=root:root /app/envs /app/envs
COPY --from=build --chown=root:root /app/workspace.yaml /app/workspace.yaml
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MLOPS_ENVS_DIR=/app/envs \
    MLOPS_STATE_DIR=/tmp/mlops \
    DAGSTER_HOME=/opt/dagster/dagster_home
WORKDIR /app
USER 10001:10001
EXPOSE 3030 8000
# the model server by default; the Helm chart runs `dagster api grpc --module-name core_assets.definitions`.
# In a container it listens on every interface (the pod's address); who may reach it is the
# Service's and NetworkPolicy's decision. Run locally, everything binds 127.0.0.1.
CMD ["uvicorn", "--factory", "serving.main:create_app", "--no-proxy-headers", "--no-access-log", "--http", "serving.http_protocol:ModelServerProtocol", "--ws", "none", "--host", "0.0.0.0", "--port", "8000"]
