"""The libvirt backend's settings: the domain type of the VMs it defines
(explicit, or KVM where /dev/kvm is usable, else QEMU, falling back to what
libvirt offers) and the shutdown timeout, from the configuration and from
`cimprovider serve`'s options and environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import libvirt
import pytest
from lxml import etree

from backend_scenarios import new_vm
from cimprovider.backends import BackendError, change_power_state
from cimprovider.backends.libvirt import LibvirtBackend
from cimprovider.schemas import PowerRequest, ServerConfig
from cimprovider.schemas.config import default_libvirt_domain_type, load_config

TEST_URI = "test:///default"


def test_the_default_domain_type_follows_dev_kvm(tmp_path: Path) -> None:
    usable = os.access("/dev/kvm", os.R_OK | os.W_OK)
    assert default_libvirt_domain_type() == ("kvm" if usable else "qemu")
    assert ServerConfig(data_dir=tmp_path).libvirt_domain_type == default_libvirt_domain_type()
    assert load_config(libvirt_domain_type="qemu", data_dir=tmp_path).libvirt_domain_type == "qemu"
    with pytest.raises(ValueError, match="libvirt_domain_type"):
        load_config(libvirt_domain_type="xen", data_dir=tmp_path)


def test_a_default_domain_type_libvirt_lacks_falls_back_to_what_it_offers(tmp_path: Path) -> None:
    with LibvirtBackend(ServerConfig(backend="libvirt", libvirt_uri=TEST_URI, data_dir=tmp_path)) as backend:
        vm = new_vm(backend, "typed")
        try:
            domain = libvirt.open(TEST_URI).lookupByUUID(vm.id.bytes)
            assert etree.fromstring(domain.XMLDesc(0)).get("type") == "test"
        finally:
            backend.destroy_vm(vm.id)


def test_an_explicit_domain_type_libvirt_lacks_is_refused_by_name(tmp_path: Path) -> None:
    config = ServerConfig(backend="libvirt", libvirt_uri=TEST_URI, data_dir=tmp_path, libvirt_domain_type="kvm")
    with pytest.raises(BackendError, match="offers no 'kvm' domains .*libvirt_domain_type"):
        LibvirtBackend(config)


def test_the_shutdown_timeout_bounds_a_guest_that_never_powers_off(tmp_path: Path) -> None:
    config = ServerConfig(backend="libvirt", libvirt_uri=TEST_URI, data_dir=tmp_path, shutdown_timeout_seconds=0.3)
    with LibvirtBackend(config) as backend:
        vm = new_vm(backend, "stubborn")
        change_power_state(backend, vm.id, PowerRequest.START)
        domain = libvirt.open(TEST_URI).lookupByUUID(vm.id.bytes)
        try:
            # The test driver powers off on shutdown at once: the guest here
            # ignores the power button instead.
            transition = backend.begin_power_change(vm.id, PowerRequest.SHUTDOWN)
            with pytest.raises(BackendError, match="did not shut down within 0 s"):
                _shutdown_ignored(transition)
        finally:
            if domain.isActive():
                domain.destroy()
            backend.destroy_vm(vm.id)


def _shutdown_ignored(transition) -> None:  # type: ignore[no-untyped-def]
    import libvirt as lv

    real = lv.virDomain.shutdown
    lv.virDomain.shutdown = lambda self, *args: 0  # the guest ignores the power button
    try:
        transition.run()
    finally:
        lv.virDomain.shutdown = real


@pytest.mark.parametrize("how", ["option", "environment"])
def test_serve_passes_the_domain_type_to_the_backend(tmp_path: Path, how: str) -> None:
    args = ["serve", "--backend", "libvirt", "--libvirt-uri", TEST_URI, "--port", "0", "--data-dir", str(tmp_path)]
    env = {**os.environ}
    if how == "option":
        args += ["--libvirt-domain-type", "QEMU"]
    else:
        env["CIMPROVIDER_LIBVIRT_DOMAIN_TYPE"] = "qemu"
    # The test driver offers only "test" domains: an explicit "qemu" must
    # reach the backend, which refuses to start.
    result = subprocess.run([sys.executable, "-m", "cimprovider.cli", *args], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "offers no 'qemu' domains" in result.stderr + result.stdout


def test_serve_refuses_an_unknown_domain_type(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cimprovider.cli", "serve", "--libvirt-domain-type", "xen", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and "--libvirt-domain-type" in result.stderr
    help_text = subprocess.run([sys.executable, "-m", "cimprovider.cli", "serve", "--help"], capture_output=True, text=True).stdout
    assert "CIMPROVIDER_LIBVIRT_DOMAIN_TYPE" in help_text and "--shutdown-timeout-seconds" in help_text
