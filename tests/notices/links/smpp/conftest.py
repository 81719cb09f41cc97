import pytest

from tests.peers.smsc import NodeSmsc


@pytest.fixture
def smsc():
    """The npm `smpp` package's SMSC on a free port, scripted by the test."""
    peer = NodeSmsc(system_id="esme", password="secret")
    yield peer
    peer.stop()
