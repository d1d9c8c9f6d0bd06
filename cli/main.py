"""The `cimprovider` command: `serve` runs the server; the other groups
are clients and administration tools."""

from __future__ import annotations

import sys

import click

from cimprovider import __version__
from cimprovider.cli import vm_devices, vm_kvp, vm_metrics, vm_move, vm_power, vm_transfer  # noqa: F401 - they add their commands to `vm`
from cimprovider.cli.completion import completion
from cimprovider.cli.failures import INTERRUPTED, USAGE
from cimprovider.cli.host import host
from cimprovider.cli.job import job
from cimprovider.cli.serve import serve
from cimprovider.cli.snapshot import snapshot
from cimprovider.cli.switch import switch
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
cli.add_command(switch)
cli.add_command(vhd)
cli.add_command(host)
for _command in (enum, get, invoke, query, assoc, watch, completion):
    cli.add_command(_command)


def main() -> None:
    """Run the command; every failure, usage errors included, is one line
    on stderr with its exit code (README: exit codes)."""
    try:
        code = cli.main(prog_name="cimprovider", standalone_mode=False)
    except click.UsageError as error:
        if error.ctx is not None and not error.ctx.protected_args and not error.ctx.args and \
                error.ctx.command_path == "cimprovider" and "Missing command" in error.format_message():
            click.echo(error.ctx.get_help(), err=True)  # `cimprovider` alone: the help
            sys.exit(USAGE)
        command = error.ctx.command_path if error.ctx is not None else "cimprovider"
        where = command.split(" ", 1)[-1]
        click.echo(f"cimprovider: {where}: {' '.join(error.format_message().split())} "
                   f"(see '{command} --help')", err=True)
        sys.exit(USAGE)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.Abort:
        click.echo("cimprovider: interrupted", err=True)
        sys.exit(INTERRUPTED)
    sys.exit(code if isinstance(code, int) else 0)
