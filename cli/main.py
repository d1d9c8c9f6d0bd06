"""The `cimprovider` command: `serve` runs the server; the other groups
are clients and administration tools."""

from __future__ import annotations

import click

from cimprovider import __version__
from cimprovider.cli import vm_devices, vm_kvp, vm_power, vm_transfer  # noqa: F401 - they add their commands to `vm`
from cimprovider.cli.completion import completion
from cimprovider.cli.job import job
from cimprovider.cli.serve import serve
from cimprovider.cli.snapshot import snapshot
from cimprovider.cli.users import user
from cimprovider.cli.vhd import vhd
from cimprovider.cli.vm import vm
from cimprovider.cli.watch import watch
from cimprovider.cli.wbem import assoc, enum, get, invoke, query


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cimprovider")
def cli() -> None:
    """A WBEM server and client for the Hyper-V WMI v2 model (root/virtualization/v2)."""


cli.add_command(serve)
cli.add_command(user)
cli.add_command(vm)
cli.add_command(job)
cli.add_command(snapshot)
cli.add_command(vhd)
for _command in (enum, get, invoke, query, assoc, watch, completion):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="cimprovider")
