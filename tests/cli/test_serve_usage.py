"""Every usage error of `cimprovider serve` — an option value it cannot
take, options that contradict each other, a file named on the command line
that is not there — exits 2 with one line naming the option, before
anything starts; a configuration file that is wrong stays exit 1."""

from __future__ import annotations

import pytest

from tests.cli.conftest import subprocess_cli


@pytest.mark.parametrize(("args", "said"), [
    (("--no-http",), "--no-http needs --https-port"),
    (("--backend", "hyperv-on-a-toaster"), "--backend 'hyperv-on-a-toaster': unknown backend; known backends: "),
    (("--port", "70000"), "--port: Input should be less than or equal to 65535"),
    (("--https-port", "0"), "--certfile: required when --https-port is set; --keyfile: required when --https-port is set"),
    (("--certfile", "/etc/hostname", "--keyfile", "/etc/hostname"),
     "--certfile: serves nothing without --https-port: give the HTTPS port too (5989 by convention)"),
    (("--listener-no-verify", "--listener-ca-file", "/etc/hostname"),
     "--listener-no-verify: cannot be combined with --listener-ca-file"),
    (("--max-pull-contexts", "2", "--max-pull-contexts-per-principal", "5"),
     "--max-pull-contexts-per-principal: 5 is more than --max-pull-contexts (2)"),
    (("--pci-passthrough", "zzz"), "--pci-passthrough: 'zzz' is not a PCI address"),
    (("--listener-allow", "nowhere"), "--listener-allow: 'nowhere' is not a network in CIDR notation"),
    (("--metrics-interval-seconds", "0"), "--metrics-interval-seconds: Input should be greater than or equal to 0.05"),
    (("--host", "0.0.0.0"), "refusing to listen on 0.0.0.0 without authentication"),
    (("--config", "/nonexistent/server.toml"), "--config"),
    (("--peers", "/nonexistent/peers.toml"), "--peers"),
    (("--listener-ca-file", "/nonexistent/ca.pem"), "--listener-ca-file"),
])
def test_a_usage_error_exits_2_in_one_line(tmp_path, args, said):
    result = subprocess_cli("serve", "--port", "0", "--data-dir", str(tmp_path / "data"), *args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("cimprovider: serve: ") and said in result.stderr, result.stderr
    assert not (tmp_path / "data").exists()  # refused before anything started


def test_the_environment_is_usage_too(tmp_path):
    result = subprocess_cli("serve", "--port", "0", "--data-dir", str(tmp_path), env={"CIMPROVIDER_BACKEND": "nope"})
    assert result.returncode == 2 and "--backend 'nope': unknown backend" in result.stderr, result.stderr


def test_a_bad_configuration_file_stays_a_start_failure(tmp_path):
    config = tmp_path / "server.toml"
    config.write_text('port = 70000\nbackend = "nope"\n')
    result = subprocess_cli("serve", "--config", str(config), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"cimprovider: serve: {config}: port: ") and "65535" in result.stderr
    # The file's port is overridden on the command line: its backend is then what is wrong, still the file's.
    result = subprocess_cli("serve", "--config", str(config), "--port", "0", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 1 and "backend 'nope' cannot start: unknown backend" in result.stderr, result.stderr
    # A value on the command line that the file's values do not explain is usage.
    config.write_text("max_pull_contexts = 8\n")
    result = subprocess_cli("serve", "--config", str(config), "--max-pull-contexts-per-principal", "9",
                            "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2, result.stderr
    assert "--max-pull-contexts-per-principal: 9 is more than --max-pull-contexts (8)" in result.stderr
