"""Every route the server answers is declared by one protocol (the server's or a layer's), and the
declarations alone decide what the hot path answers and which error shape a path gets."""

from __future__ import annotations

from layer_api.manager import LayerManager, known_layers
from serving.main import create_app
from serving.protocol import HotRoute, HotRoutes, Protocol, error_shape
from serving.protocols import CORE_PROTOCOLS
from tests.fakes import FakeRegistry, fake_settings

FASTAPI_OWN = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _undeclared(app, protocols) -> set[str]:
    """Routes the app serves that no protocol declares: its own routes outside FastAPI's docs, and
    routers included that are not a protocol's (FastAPI keeps an included router as one entry)."""
    routers = {id(protocol.router) for protocol in protocols}
    found = set()
    for route in app.routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            if id(included) not in routers:
                found.update(r.path for r in included.routes)
        elif route.path not in FASTAPI_OWN:
            found.add(route.path)
    return found


def test_every_served_route_is_declared_with_every_layer_on(tmp_path):
    settings = fake_settings(mlops_state_dir=tmp_path)
    layers = LayerManager(settings, set(known_layers()))
    registry = FakeRegistry()
    app = create_app(settings, layers, registry, registry.new_runtime)
    protocols = (*CORE_PROTOCOLS, *layers.serving_protocols())
    assert _undeclared(app, protocols) == set()
    declared = {pair for protocol in protocols for pair in protocol.declares()}
    assert ("POST", "/feedback") in declared and ("GET", "/metrics") in declared  # the layers' own


def test_a_route_added_outside_a_declaration_is_found(tmp_path):
    """What the test above guards against: a route a layer adds to the app by hand."""
    settings = fake_settings(mlops_state_dir=tmp_path)
    registry = FakeRegistry()
    app = create_app(settings, LayerManager(settings, set()), registry, registry.new_runtime)

    @app.get("/sneaked-in")
    async def sneaked_in():
        return {}

    assert _undeclared(app, CORE_PROTOCOLS) == {"/sneaked-in"}


def test_hot_routes_match_by_pattern_and_leave_unknown_values_to_fastapi():
    routes = HotRoutes(CORE_PROTOCOLS)
    route, params = routes.match("/variant/B/predict")
    assert params == {"alias": "B"} and route.accepts(params)
    route, params = routes.match("/variant/C/predict")
    assert not route.accepts(params)  # FastAPI's route answers the 404
    assert routes.match("/v2/models/iris/versions/7/infer")[1] == {"model_name": "iris", "model_version": "7"}
    assert routes.match("/v2/models/iris/infer")[1] == {"model_name": "iris"}
    assert routes.match("/predict")[1] == {} and routes.match("/invocations") is not None
    assert routes.match("/predict/") is None and routes.match("/v2/models/iris/versions/7/infer/x") is None
    assert routes.scores("/variant/C/predict") and not routes.scores("/health")


def test_the_error_shape_is_the_owning_protocols():
    assert error_shape(CORE_PROTOCOLS, "/v2/models/x/infer")(422, "bad") == (400, {"error": "bad"})
    assert error_shape(CORE_PROTOCOLS, "/predict")(422, "bad") == (422, {"detail": "bad"})
    assert error_shape(CORE_PROTOCOLS, "/v2x")(404, "no") == (404, {"detail": "no"})


def test_a_layer_protocol_with_a_hot_route_is_answered_by_the_hot_path():
    from fastapi import APIRouter

    async def echo(plane, params, body, headers):
        raise AssertionError("not called here")

    protocol = Protocol("echo", APIRouter(), hot_routes=(HotRoute("/echo/{word}", echo),))
    found = HotRoutes([*CORE_PROTOCOLS, protocol]).match("/echo/hi")
    assert found is not None and found[0].handler is echo and found[1] == {"word": "hi"}
