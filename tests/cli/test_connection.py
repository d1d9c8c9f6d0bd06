"""Where commands connect: a named list of servers from the client
configuration, CIMPROVIDER_* variables, credentials (given, prompted,
refused), and shell completion of VM names."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cimprovider.cli.main import cli
from cimprovider.http.auth import UsersFile
from tests.cli.conftest import run_json
from tests.support.live import in_process_server


def test_named_server_list_from_the_configuration(cimprovider, server, tmp_path):
    config = tmp_path / "client.toml"
    config.write_text(f'[servers]\nlab = ["{server.url}"]\n', encoding="utf-8")
    cimprovider("vm", "new", "configured")
    rows = run_json(cimprovider, "vm", "list", "--server", "lab", env={"CIMPROVIDER_CLIENT_CONFIG": str(config)})
    assert "configured" in [r["name"] for r in rows]
    broken = tmp_path / "broken.toml"
    broken.write_text("[servers\n", encoding="utf-8")
    result = cimprovider("vm", "list", env={"CIMPROVIDER_CLIENT_CONFIG": str(broken)})
    assert result.exit_code == 2 and str(broken) in result.stderr


def test_environment_sets_output_and_namespace(cimprovider):
    result = cimprovider("enum", "CIM_Namespace", env={"CIMPROVIDER_NAMESPACE": "root/interop", "CIMPROVIDER_OUTPUT": "json"})
    assert result.exit_code == 0 and '"Name": "root/virtualization/v2"' in result.stdout


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    data = tmp_path_factory.mktemp("auth")
    users = data / "users.json"
    UsersFile(users).add("admin", "s3cret", "admin")
    with in_process_server(data, users_file=users) as live:
        yield live


def run(url: str, *args: str, input: str | None = None, env: dict[str, str] | None = None):
    environment = {k: None for k in os.environ if k.startswith("CIMPROVIDER_")}
    environment.update({"CIMPROVIDER_SERVER": url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull, **(env or {})})
    return CliRunner(mix_stderr=False).invoke(cli, list(args), input=input, env=environment)


def test_credentials_given_prompted_from_env_and_refused(guarded):
    assert run(guarded.url, "vm", "list", "--user", "admin", "--password", "s3cret").exit_code == 0
    prompted = run(guarded.url, "vm", "list", "--user", "admin", input="s3cret\n")
    assert prompted.exit_code == 0 and "Password for admin" in prompted.stderr
    # A script's stdin, closed (CliRunner answers an empty line at its end, so a real process is asked).
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CIMPROVIDER_")}
    unanswered = subprocess.run([sys.executable, "-m", "cimprovider.cli", "vm", "list", "--user", "admin"],
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                                env={**environment, "CIMPROVIDER_SERVER": guarded.url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull})
    assert unanswered.returncode == 2 and unanswered.stderr.endswith(
        "cimprovider: --user admin: no password was given (give --password or CIMPROVIDER_PASSWORD, or type it when asked)\n")
    from_env = run(guarded.url, "vm", "list", env={"CIMPROVIDER_USER": "admin", "CIMPROVIDER_PASSWORD": "s3cret"})
    assert from_env.exit_code == 0
    refused = run(guarded.url, "vm", "list", "--user", "admin", "--password", "wrong")
    assert refused.exit_code == 4 and refused.stderr.strip() == "cimprovider: vm list: authentication refused (check --user and --password)"
    anonymous = run(guarded.url, "vm", "list")
    assert anonymous.exit_code == 4


def test_throttled_credentials_are_explained(tmp_path):
    users = tmp_path / "users.json"
    UsersFile(users).add("admin", "s3cret", "admin")
    with in_process_server(tmp_path / "data", users_file=users, auth_failures_per_user=1) as live:
        assert run(live.url, "vm", "list", "--user", "admin", "--password", "wrong").exit_code == 4
        throttled = run(live.url, "vm", "list", "--user", "admin", "--password", "s3cret")
    assert throttled.exit_code == 4
    assert throttled.stderr.strip() == (
        "cimprovider: vm list: too many failed authentications from here or for this user; try again later"
    )


def test_completion_of_vm_names_and_commands(cimprovider, server):
    cimprovider("vm", "new", "complete-me")
    environment = {"_CIMPROVIDER_COMPLETE": "bash_complete", "COMP_WORDS": "cimprovider vm start comp", "COMP_CWORD": "3",
                   "CIMPROVIDER_SERVER": server.url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull}
    result = CliRunner(mix_stderr=False).invoke(cli, [], prog_name="cimprovider", env=environment)
    assert "plain,complete-me" in result.stdout.splitlines()
    environment.update({"COMP_WORDS": "cimprovider snap", "COMP_CWORD": "1"})
    result = CliRunner(mix_stderr=False).invoke(cli, [], prog_name="cimprovider", env=environment)
    assert "plain,snapshot" in result.stdout.splitlines()
    script = CliRunner(mix_stderr=False).invoke(cli, ["completion", "bash"])
    assert script.exit_code == 0 and "_CIMPROVIDER_COMPLETE=bash_complete" in script.stdout
