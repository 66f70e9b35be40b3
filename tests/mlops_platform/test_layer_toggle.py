"""The toggle script: the only writer of envs/<env>/layers.yaml, idempotent, refuses unknown layers."""

from __future__ import annotations

import shutil

import pytest

from layer_api.state import read_state, state_file
from mlops_base.settings import REPO_ROOT
from mlops_platform.layer_toggle import UnknownLayer, describe
from tests.support import toggle


@pytest.fixture
def dev(tmp_path):
    """A copy of the committed `envs/dev/`, toggled freely."""
    env_dir = tmp_path / "envs" / "dev"
    shutil.copytree(REPO_ROOT / "envs" / "dev", env_dir)
    return env_dir


@pytest.fixture
def dev_state(dev):
    return state_file(dev)


def test_on_off_one_layer_is_idempotent_and_reported(dev, dev_state):
    toggle(dev, "off")
    toggle(dev, "off", "monitoring")

    assert toggle(dev, "on", "monitoring")[0].startswith("monitoring: off -> on in dev")
    assert read_state(dev).active() == {"monitoring"}
    before = dev_state.read_text()
    assert toggle(dev, "on", "monitoring") == ["unchanged: monitoring already on in dev"]
    assert dev_state.read_text() == before

    assert toggle(dev, "off", "monitoring")[0].startswith("monitoring: on -> off")
    assert read_state(dev).active() == set()


def test_without_a_layer_the_whole_optional_set_is_detached_and_reattached(dev, dev_state):
    toggle(dev, "on", "monitoring")
    toggle(dev, "off")
    state = read_state(dev)
    assert not state.attached and state.layers["monitoring"] and state.active() == set()
    assert "optional set detached" in describe("dev", state)[0]
    toggle(dev, "on")
    assert read_state(dev).active() == {"monitoring"}


def test_unknown_layer_is_refused_listing_the_known_ones(dev, dev_state):
    before = dev_state.read_text()
    with pytest.raises(
        UnknownLayer, match="unknown layer .graphana.; known layers: drift, evaluation, feast, logging, monitoring"
    ):
        toggle(dev, "on", "graphana")
    assert dev_state.read_text() == before
