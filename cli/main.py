"""The `cimprovider` command: `serve` runs the server; the other groups
are clients and administration tools."""

from __future__ import annotations

import click

from cimprovider import __version__
from cimprovider.cli import vm_power  # noqa: F401 - adds the power commands to `vm`
from cimprovider.cli.completion import completion
from cimprovider.cli.serve import serve
from cimprovider.cli.users import user
from cimprovider.cli.vm import vm


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cimprovider")
def cli() -> None:
    """A WBEM server and client for the Hyper-V WMI v2 model (root/virtualization/v2)."""


cli.add_command(serve)
cli.add_command(user)
cli.add_command(vm)
cli.add_command(completion)


def main() -> None:
    cli(prog_name="cimprovider")
