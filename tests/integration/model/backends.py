"""The backends the model is tested over, as in_process_server's options
by name: the simulated host and libvirt's test driver, so that a test
parametrised over them checks a client sees the same model on both."""

from __future__ import annotations

BACKENDS: dict[str, dict[str, str]] = {
    "simulated": {"backend": "simulated"},
    "libvirt": {"backend": "libvirt", "libvirt_uri": "test:///default"},
}
