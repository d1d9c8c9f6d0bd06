"""`cimprovider user add|remove|list`: the users file for HTTP Basic auth."""

from __future__ import annotations

from pathlib import Path

import click

from cimprovider.cli.connection import ask_secret
from cimprovider.cli.failures import CommandFailure, NotFound, UsageFailure
from cimprovider.http.auth import ROLES, InvalidUser, UsersFile


def _users_file(path: Path | None, data_dir: Path | None) -> UsersFile:
    # The same default as `serve`: users.json in the data directory.
    from cimprovider.schemas.config import default_data_dir  # the server's configuration, loaded only when needed

    return UsersFile(path or (data_dir or default_data_dir()).expanduser() / "users.json")


def users_file_option(command):
    command = click.option(
        "--data-dir",
        envvar="CIMPROVIDER_DATA_DIR",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="The server's data directory, whose users.json `serve` reads by default.  [default: ~/.local/share/cimprovider]",
    )(command)
    return click.option(
        "--users-file",
        envvar="CIMPROVIDER_USERS_FILE",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="The users file.  [default: DATA_DIR/users.json]",
    )(command)


@click.group()
def user() -> None:
    """Manage the users who may connect (roles: reader, admin)."""


@user.command("add")
@users_file_option
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="reader", show_default=True)
@click.option("--password", envvar="CIMPROVIDER_NEW_PASSWORD", show_envvar=True,
              help="The password (asked for, twice, if not given).")
def add(users_file: Path | None, data_dir: Path | None, name: str, role: str, password: str | None) -> None:
    """Add NAME, or replace its password and role."""
    if password is None:
        password = ask_secret("Password", f"user {name}: no password was given (give --password or "
                              "CIMPROVIDER_NEW_PASSWORD, or type it when asked)", confirm=True)
    target = _users_file(users_file, data_dir)
    created = not target.path.exists()
    try:
        target.add(name, password, role)
    except InvalidUser as exc:
        raise UsageFailure(str(exc)) from None
    except ValueError as exc:  # the users file itself
        raise CommandFailure(str(exc)) from None
    click.echo(f"user {name} ({role}) saved")
    if created:
        # A server reads a users file again when it changes, but one started without any keeps authentication off.
        click.echo(f"cimprovider: created {target.path}: a server already running without a users file keeps "
                   "authentication off until it is restarted", err=True)


@user.command("remove")
@users_file_option
@click.argument("name")
def remove(users_file: Path | None, data_dir: Path | None, name: str) -> None:
    """Remove NAME."""
    try:
        _users_file(users_file, data_dir).remove(name)
    except KeyError as exc:
        raise NotFound(exc.args[0]) from None
    except ValueError as exc:
        raise CommandFailure(str(exc)) from None
    click.echo(f"user {name} removed")


@user.command("list")
@users_file_option
def list_users(users_file: Path | None, data_dir: Path | None) -> None:
    """List users and their roles."""
    try:
        users = _users_file(users_file, data_dir).load()
    except ValueError as exc:
        raise CommandFailure(str(exc)) from None
    for entry in sorted(users.values(), key=lambda u: u.name):
        click.echo(f"{entry.name}\t{entry.role}")
