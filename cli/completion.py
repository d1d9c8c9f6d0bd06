"""Shell completion of VM and snapshot names, asked of the server the
command line already names (its --server, --user… as typed so far). A
server that does not answer quickly completes nothing rather than hang
the shell. Activate with `eval "$(cimprovider completion bash)"`."""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem, get_completion_class

from cimprovider.cli.connection import session_from
from cimprovider.cli.hyperv import VSSD, list_vms, require_vm

COMPLETION_TIMEOUT = 3.0


def _session(ctx: click.Context):
    params = dict(ctx.params)
    params["timeout"] = min(float(params.get("timeout") or COMPLETION_TIMEOUT), COMPLETION_TIMEOUT)
    return session_from(params, interactive=False)


def vm_names(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    try:
        session = _session(ctx)
        names = {vm.name for url in session.servers for vm in list_vms(session.connection(url))}
    except Exception:  # noqa: BLE001 - completion must never raise into the shell
        return []
    return [CompletionItem(name) for name in sorted(names) if name.startswith(incomplete)]


def snapshot_names(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    vm_name = ctx.params.get("vm")
    if not vm_name:
        return []
    try:
        session = _session(ctx)
        vm = require_vm(session.connection(), vm_name)
        snapshots = vm.conn.Associators(vm.path, AssocClass="Msvm_SnapshotOfVirtualSystem", ResultClass=VSSD)
    except Exception:  # noqa: BLE001
        return []
    names = {str(s["ElementName"]) for s in snapshots}
    return [CompletionItem(name) for name in sorted(names) if name.startswith(incomplete)]


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (commands, options, VM and
    snapshot names). Use: eval "$(cimprovider completion bash)"."""
    root = ctx.find_root().command
    script = get_completion_class(shell)(root, {}, "cimprovider", "_CIMPROVIDER_COMPLETE")
    click.echo(script.source())
