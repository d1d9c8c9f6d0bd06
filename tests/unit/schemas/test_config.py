from pathlib import Path

import pytest

from cimprovider.schemas import ConfigError, ServerConfig, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cimprovider.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_match_the_documented_ones() -> None:
    config = ServerConfig()
    assert config.port == 5988
    assert config.https_port is None
    assert config.backend == "simulated"
    assert config.job_retention_seconds == 300
    assert config.libvirt_uri == "qemu:///system"
    assert config.transition_seconds == 0.5


def test_a_good_file_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
host = "0.0.0.0"
port = 15988
https_port = 15989
certfile = "{tmp_path}/server.pem"
keyfile = "{tmp_path}/server.key"
data_dir = "{tmp_path}/data"
log_level = "debug"
transition_seconds = 0.05
job_retention_seconds = 30
""",
    )
    config = load_config(path)
    assert config.host == "0.0.0.0"
    assert config.port == 15988
    assert config.https_port == 15989
    assert config.data_dir == tmp_path / "data"
    assert config.log_level == "DEBUG"
    assert config.transition_seconds == 0.05
    assert config.database_path.parent == tmp_path / "data"


def test_overrides_win_over_the_file_and_none_is_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "port = 1000\nbackend = 'simulated'\n")
    config = load_config(path, port=2000, backend=None)
    assert config.port == 2000
    assert config.backend == "simulated"


def test_listener_settings_load_from_a_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, f"listener_allow = ['127.0.0.2/32', '::1']\nlistener_ca_file = '{tmp_path}/ca.pem'\n"))
    assert [str(n) for n in config.listener_allow] == ["127.0.0.2/32", "::1/128"]
    assert config.listener_ca_file == tmp_path / "ca.pem" and not config.listener_no_verify
    assert ServerConfig().listener_allow == []  # the service then allows loopback only


def test_passthrough_disks_load_from_a_file_and_none_by_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "passthrough_disks = ['/dev/sdb', '/dev/disk/by-id/wwn-0x5000c500a1b2c3d4']\n"))
    assert config.passthrough_disks == [Path("/dev/sdb"), Path("/dev/disk/by-id/wwn-0x5000c500a1b2c3d4")]
    assert ServerConfig().passthrough_disks == []  # no device is ever handed to a guest unless listed


def test_no_file_means_defaults_plus_overrides() -> None:
    assert load_config(None, port=7000).port == 7000


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("port = 70000\n", "port"),
        ("port = 'http'\n", "port"),
        ("prot = 5988\n", "prot"),
        ("log_level = 'chatty'\n", "log_level"),
        ("transition_seconds = -1\n", "transition_seconds"),
        ("job_retention_seconds = 0\n", "job_retention_seconds"),
        ("https_port = 5989\nkeyfile = 'k.pem'\n", "certfile"),
        ("https_port = 5989\ncertfile = 'c.pem'\n", "keyfile"),
        ("backend = ''\n", "backend"),
        ("max_pull_contexts = 10\nmax_pull_contexts_per_principal = 11\n", "max_pull_contexts_per_principal"),
        ("max_pull_contexts_per_principal = 0\n", "max_pull_contexts_per_principal"),
        ("listener_allow = ['127.0.0.1/8']\n", "listener_allow"),
        ("listener_allow = ['loopback']\n", "listener_allow"),
        ("listener_no_verify = true\nlistener_ca_file = 'ca.pem'\n", "listener_no_verify"),
        ("passthrough_disks = ['dev/sdb']\n", "passthrough_disks"),
        ("passthrough_disks = '/dev/sdb'\n", "passthrough_disks"),
    ],
)
def test_a_bad_value_names_its_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert caught.value.key == key
    assert f"{key}:" in str(caught.value)
    assert "cimprovider.toml" in str(caught.value)


def test_broken_toml_is_reported_with_the_file_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "port = = 1\n"))


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")
