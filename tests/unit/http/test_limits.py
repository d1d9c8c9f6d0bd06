from __future__ import annotations

import pytest

from cimprovider.http.limits import ConnectionGate
from cimprovider.http.protocol import final_answer
from cimprovider.schemas.config import ConfigError, parse_config


def test_per_client_limit_refuses_that_address_only():
    gate = ConnectionGate(max_connections=10, max_per_client=2)
    assert gate.admit("10.0.0.1") is None and gate.admit("10.0.0.1") is None
    refusal = gate.admit("10.0.0.1")
    assert refusal is not None and "max_connections_per_client 2" in refusal
    assert gate.admit("10.0.0.2") is None
    gate.release("10.0.0.1")
    assert gate.admit("10.0.0.1") is None


def test_total_limit_refuses_every_address():
    gate = ConnectionGate(max_connections=3, max_per_client=3)
    for address in ("a", "b", "c"):
        assert gate.admit(address) is None
    refusal = gate.admit("d")
    assert refusal is not None and "max_connections 3" in refusal
    gate.release("b")
    assert gate.admit("d") is None


def test_released_addresses_are_forgotten():
    gate = ConnectionGate(max_connections=100, max_per_client=100)
    for n in range(50):
        gate.admit(f"10.0.0.{n}")
        gate.release(f"10.0.0.{n}")
    assert gate.open == 0 and not gate.per_client


def test_lingering_is_bounded():
    gate = ConnectionGate(max_connections=1, max_per_client=1, max_lingering=2)
    assert gate.start_lingering() and gate.start_lingering()
    assert not gate.start_lingering()
    gate.stop_lingering()
    assert gate.start_lingering()


def test_final_answer_is_a_complete_closing_response():
    answer = final_answer(503, "too many", [(b"retry-after", b"5")])
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"\r\nconnection: close" in head and b"\r\nretry-after: 5" in head
    assert b"content-length: %d" % len(body) in head and body == b"too many\n"


def test_limits_are_read_from_the_configuration():
    config = parse_config({"max_connections_per_client": 8, "header_timeout_seconds": 2.5})
    assert (config.max_connections_per_client, config.header_timeout_seconds) == (8, 2.5)


@pytest.mark.parametrize("key, value", [("header_timeout_seconds", 0), ("max_connections", 0), ("max_header_bytes", 10)])
def test_nonsense_limits_are_refused_naming_the_key(key, value):
    with pytest.raises(ConfigError) as caught:
        parse_config({key: value})
    assert caught.value.key == key


def test_per_client_limit_over_the_total_is_refused():
    with pytest.raises(ConfigError) as caught:
        parse_config({"max_connections": 100, "max_connections_per_client": 200})
    assert caught.value.key == "max_connections_per_client"
    assert "more than max_connections (100)" in str(caught.value)
