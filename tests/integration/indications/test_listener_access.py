"""Where the server may send indications, and whom it trusts over https.
Destinations are allowed only on the configured networks (here 127.0.0.2
alone; 127.0.0.3 plays a host the server must never reach), checked when a
client creates one and again when the server delivers; https listeners
must show a certificate the server trusts."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pywbem import CIM_ERR_INVALID_PARAMETER, CIMError, CIMInstance, WBEMListener

from cimprovider.indications import DeliverySettings
from cimprovider.indications.listener import IndicationStream, free_port, listening
from tests.integration.indications.conftest import STATE_CHANGES, Served, served, state_change
from tests.integration.indications.test_delivery import subscribe

ALLOWED = "127.0.0.2"
FORBIDDEN = "127.0.0.3"
ONLY_ALLOWED = [f"{ALLOWED}/32"]
DEADLINE = 60.0


class Trap:
    """A port on a host the server must not reach: any connection attempt
    waits in its backlog, where `reached` finds it."""

    def __init__(self, host: str) -> None:
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"

    def reached(self) -> bool:
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return False
        conn.close()
        return True

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def trap() -> Iterator[Trap]:
    found = Trap(FORBIDDEN)
    yield found
    found.close()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(tmp_path_factory.mktemp("listener-allow"), listener_allow=ONLY_ALLOWED) as s:
        yield s


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE:g} s: {what}")
        time.sleep(0.02)


def destination(name: str, url: str) -> CIMInstance:
    return CIMInstance("CIM_ListenerDestinationCIMXML", properties={"Name": name, "Destination": url})


def refused(served: Served, name: str, url: str) -> CIMError:
    conn = served.connection()
    with pytest.raises(CIMError) as err:
        conn.CreateInstance(destination(name, url))
    assert err.value.status_code == CIM_ERR_INVALID_PARAMETER
    assert name in err.value.status_description
    stored = [p["Name"] for p in conn.EnumerateInstanceNames("CIM_ListenerDestinationCIMXML")]
    assert name not in stored
    return err.value


def test_an_address_outside_the_allowed_networks_is_refused_unreached(guarded: Served, trap: Trap) -> None:
    error = refused(guarded, "outside", trap.url)
    assert FORBIDDEN in error.status_description and f"{ALLOWED}/32" in error.status_description
    assert not trap.reached()


def test_a_host_name_is_judged_by_the_addresses_it_resolves_to(guarded: Served) -> None:
    # localhost is loopback, but not the one network this server allows.
    error = refused(guarded, "by-name", f"http://localhost:{free_port()}/")
    assert "localhost" in error.status_description and f"{ALLOWED}/32" in error.status_description


def test_a_host_name_that_does_not_resolve_is_refused(guarded: Served) -> None:
    # A name the resolver rejects by itself, so the test asks no name server.
    error = refused(guarded, "nowhere", "http://-no-such-listener:5990/")
    assert "does not resolve" in error.status_description


def test_a_listener_on_an_allowed_network_receives(guarded: Served) -> None:
    with listening(ALLOWED) as stream:
        subscribe(guarded.connection(), stream.listener_url, "allowed", STATE_CHANGES, "DMTF:CQL")
        guarded.service.publish(state_change("allowed-vm", 3, 2))
        (indication,) = stream.collect(1, timeout=DEADLINE)
    assert indication["SourceInstance"]["Name"] == "allowed-vm"


def test_delivery_checks_again_a_destination_stored_under_another_policy(
    tmp_path: Path, trap: Trap, caplog: pytest.LogCaptureFixture
) -> None:
    with served(tmp_path, listener_allow=[f"{FORBIDDEN}/32"]) as before:
        subscribe(before.connection(), trap.url, "moved", STATE_CHANGES, "DMTF:CQL")
    with served(tmp_path, listener_allow=ONLY_ALLOWED) as now:
        now.service.put_settings(DeliverySettings(retry_attempts=100, retry_interval=0.05))
        now.service.publish(state_change("moved-vm", 3, 2))
        worker = now.service.worker("moved-dest")
        assert worker is not None
        wait_until(lambda: worker.counters.failed_attempts >= 2, "two delivery attempts refused")
        assert worker.counters.delivered == 0
    assert not trap.reached()
    assert f"{FORBIDDEN} is outside the networks indications may be sent to ({ALLOWED}/32)" in caplog.text


# --- https listeners ------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: trusted by nobody unless named."""
    directory = tmp_path_factory.mktemp("listener-tls")
    cert, key = directory / "listener.pem", directory / "listener.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@contextmanager
def https_listener(cert: Path, key: Path) -> Iterator[IndicationStream]:
    port = free_port()
    stream = IndicationStream(listener_url=f"https://127.0.0.1:{port}")
    listener = WBEMListener("127.0.0.1", https_port=port, certfile=str(cert), keyfile=str(key))
    listener.add_callback(lambda indication, _host: stream.received.put(indication))
    listener.start()
    try:
        yield stream
    finally:
        listener.stop()


@pytest.mark.parametrize("trust", ["ca-file", "no-verify"])
def test_an_https_listener_is_reached_when_trusted(tmp_path: Path, certificate, trust: str) -> None:
    cert, key = certificate
    config = {"listener_ca_file": cert} if trust == "ca-file" else {"listener_no_verify": True}
    with served(tmp_path, **config) as s, https_listener(cert, key) as stream:
        subscribe(s.connection(), stream.listener_url, "trusted", STATE_CHANGES, "DMTF:CQL")
        s.service.publish(state_change("tls-vm", 3, 2))
        (indication,) = stream.collect(1, timeout=DEADLINE)
    assert indication["SourceInstance"]["Name"] == "tls-vm"


def test_an_https_listener_with_an_untrusted_certificate_gets_nothing(
    tmp_path: Path, certificate, caplog: pytest.LogCaptureFixture
) -> None:
    cert, key = certificate
    with served(tmp_path) as s, https_listener(cert, key) as stream:
        s.service.put_settings(DeliverySettings(retry_attempts=100, retry_interval=0.05))
        subscribe(s.connection(), stream.listener_url, "untrusted", STATE_CHANGES, "DMTF:CQL")
        s.service.publish(state_change("tls-vm", 3, 2))
        worker = s.service.worker("untrusted-dest")
        assert worker is not None
        wait_until(lambda: worker.counters.failed_attempts >= 2, "two delivery attempts failed")
        assert worker.counters.delivered == 0
        assert stream.received.empty()
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text


def test_a_destination_path_with_spaces_and_letters_past_ascii_is_escaped_and_reached(guarded: Served) -> None:
    with listening(ALLOWED) as stream:
        subscribe(guarded.connection(), f"{stream.listener_url}/café x", "escaped", STATE_CHANGES, "DMTF:CQL")
        guarded.service.publish(state_change("escaped-vm", 3, 2))
        (indication,) = stream.collect(1, timeout=DEADLINE)
    assert indication["SourceInstance"]["Name"] == "escaped-vm"
