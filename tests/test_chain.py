"""Every scan reaches the database exactly once, whatever fails in between."""

import signal

import pytest

from tests.chain import Chain, via_port
from tests.services import TcpProxy


@pytest.fixture
def chain(tmp_path, authority, pg_url, mosquitto):
    c = Chain(tmp_path, authority, pg_url, mosquitto)
    yield c
    c.close()


def assert_exactly_once(chain):
    count, ids = chain.stored()
    assert len(chain.event_ids) == len(set(chain.event_ids))
    assert ids == set(chain.event_ids)
    assert count == len(ids)  # no event stored twice
    assert chain.queue_depth() == 0


def test_sqlite_site_end_to_end(tmp_path, authority, mosquitto):
    c = Chain(tmp_path, authority, f"sqlite:///{tmp_path / 'site.sqlite3'}", mosquitto)
    try:
        c.start_bridge()
        c.start_gate(repeat=2)
        assert c.finish_gate() == 0
        assert len(c.event_ids) == 60
        assert_exactly_once(c)
    finally:
        c.close()


def test_broker_killed_and_restarted_mid_stream(chain):
    chain.start_bridge()
    chain.start_gate(repeat=4)
    chain.follow(25)
    chain.broker.kill()
    chain.follow(45)  # the gate keeps checking people in while the broker is down
    chain.broker.start()
    assert chain.finish_gate() == 0
    assert len(chain.event_ids) == 120
    assert_exactly_once(chain)


def test_bridge_killed_mid_batch_and_restarted(chain):
    bridge = chain.start_bridge()
    chain.start_gate(repeat=4)
    chain.follow(30)
    bridge.send_signal(signal.SIGKILL)
    bridge.wait(10)
    chain.follow(50)
    chain.start_bridge()
    assert chain.finish_gate() == 0
    assert_exactly_once(chain)


def test_database_unreachable_while_people_pass(chain):
    from urllib.parse import urlparse

    u = urlparse(chain.db_url)
    proxy = TcpProxy(u.hostname, u.port or 5432)
    try:
        chain.start_bridge(via_port(chain.db_url, proxy.port))
        chain.start_gate(repeat=4, fps=10)
        chain.follow(15)
        proxy.cut()
        chain.follow(40)
        # The outage lasts until the bridge has found the database gone and the gate, past its
        # ack timeout (3 s), has sent everything again: then the database comes back.
        assert chain.bridge_says("database write failed")
        assert chain.follow(10**9, 60, until_line="resending unacknowledged events")
        proxy.restore()
        assert chain.finish_gate() == 0
        assert_exactly_once(chain)
    finally:
        proxy.close()


def test_gate_killed_and_restarted(chain):
    chain.start_bridge()
    chain.start_gate(repeat=4)
    chain.follow(30)
    chain.broker.kill()  # so that some events are surely still queued when the gate dies
    chain.follow(45)
    chain.gate.send_signal(signal.SIGKILL)
    chain.gate.wait(10)
    assert chain.queue_depth() > 0
    chain.broker.start()
    chain.start_gate(repeat=1)
    assert chain.finish_gate() == 0
    assert_exactly_once(chain)
