"""`cimprovider vhd new|resize|compact|merge|convert|info|validate`: virtual
hard disk files on the server's host, through Msvm_ImageManagementService
(msvm-v2.md §3). Every method is a job (Msvm_StorageJob), waited for with a
progress bar unless --no-wait. Paths are the server's, not this machine's."""

from __future__ import annotations

import re
from pathlib import PurePath

import click
from pywbem import CIMInstance, Uint16, Uint32, Uint64

from cimprovider.cli.connection import Session, client_command
from cimprovider.cli.failures import CommandFailure
from cimprovider.cli.hyperv import parse_embedded, service
from cimprovider.cli.jobs import call
from cimprovider.cli.output import emit_one

VHDSD = "Msvm_VirtualHardDiskSettingData"
TYPES = {"fixed": 2, "dynamic": 3, "differencing": 4}
FORMATS = {"vhd": 2, "vhdx": 3}
UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def byte_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if not match:
        raise click.BadParameter(f"{text!r} is not a size such as 10G, 512M or 1073741824")
    return int(match.group(1)) * UNITS[match.group(2)]


class ByteSize(click.ParamType):
    name = "SIZE"

    def convert(self, value, param, ctx):  # noqa: ANN001 - click's signature
        return value if isinstance(value, int) else byte_size(str(value))


def format_of(path: str, given: str | None) -> int:
    if given:
        return FORMATS[given]
    suffix = PurePath(path.replace("\\", "/")).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise click.UsageError(f"{path}: give --format (vhd or vhdx); the name does not say")
    return FORMATS[suffix]


def disk_settings(path: str, **values: object) -> str:
    properties = {"Path": path, **{k: v for k, v in values.items() if v is not None}}
    return CIMInstance(VHDSD, properties=properties).tocimxmlstr()


@click.group()
def vhd() -> None:
    """Virtual hard disk files (VHD, VHDX) on the server's host."""


@vhd.command("new")
@click.argument("path")
@click.option("--size", type=ByteSize(), help="Virtual size (e.g. 20G); not for differencing disks.")
@click.option("--type", "kind", type=click.Choice(list(TYPES)), help="[default: dynamic, differencing with --parent]")
@click.option("--parent", help="The parent disk of a differencing disk.")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), help="[default: from PATH's extension]")
@click.option("--block-size", type=ByteSize(), help="Block size of a dynamic disk.")
@client_command(job=True)
def new(session: Session, path: str, size: int | None, kind: str | None, parent: str | None, fmt: str | None,
        block_size: int | None) -> None:
    """Create the disk file PATH."""
    kind = kind or ("differencing" if parent else "dynamic")
    if kind == "differencing" and not parent:
        raise click.UsageError("a differencing disk needs --parent")
    if kind != "differencing" and size is None:
        raise click.UsageError("give --size")
    conn = session.single()
    settings = disk_settings(path, Type=Uint16(TYPES[kind]), Format=Uint16(format_of(path, fmt)), ParentPath=parent,
                             MaxInternalSize=Uint64(size) if size else None,
                             BlockSize=Uint32(block_size) if block_size else None)
    call(session, conn, service(conn, "image"), "CreateVirtualHardDisk", f"vhd new {path}", VirtualDiskSettingData=settings)
    click.echo(path if session.quiet else f"created {path}")


@vhd.command("resize")
@click.argument("path")
@click.argument("size", type=ByteSize())
@client_command(job=True)
def resize(session: Session, path: str, size: int) -> None:
    """Change the virtual size of PATH to SIZE."""
    conn = session.single()
    call(session, conn, service(conn, "image"), "ResizeVirtualHardDisk", f"vhd resize {path}", Path=path, MaxInternalSize=Uint64(size))
    click.echo(path if session.quiet else f"resized {path}")


@vhd.command("compact")
@click.argument("path")
@click.option("--mode", type=click.IntRange(0, 4), default=0, show_default=True, help="0 full, 1 quick, 2 retrim, 3 pretrimmed, 4 prezeroed.")
@client_command(job=True)
def compact(session: Session, path: str, mode: int) -> None:
    """Give unused space of PATH back to the host."""
    conn = session.single()
    call(session, conn, service(conn, "image"), "CompactVirtualHardDisk", f"vhd compact {path}", Path=path, Mode=Uint16(mode))
    click.echo(path if session.quiet else f"compacted {path}")


@vhd.command("merge")
@click.argument("source")
@click.argument("destination")
@client_command(job=True)
def merge(session: Session, source: str, destination: str) -> None:
    """Merge the differencing disk SOURCE into its ancestor DESTINATION."""
    conn = session.single()
    call(session, conn, service(conn, "image"), "MergeVirtualHardDisk", f"vhd merge {source}",
         SourcePath=source, DestinationPath=destination)
    click.echo(destination if session.quiet else f"merged {source} into {destination}")


@vhd.command("convert")
@click.argument("source")
@click.argument("destination")
@click.option("--type", "kind", type=click.Choice(["fixed", "dynamic"]), default="dynamic", show_default=True)
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), help="[default: from DESTINATION's extension]")
@client_command(job=True)
def convert(session: Session, source: str, destination: str, kind: str, fmt: str | None) -> None:
    """Copy SOURCE into a new disk DESTINATION of another type or format."""
    conn = session.single()
    settings = disk_settings(destination, Type=Uint16(TYPES[kind]), Format=Uint16(format_of(destination, fmt)))
    call(session, conn, service(conn, "image"), "ConvertVirtualHardDisk", f"vhd convert {source}",
         SourcePath=source, VirtualDiskSettingData=settings)
    click.echo(destination if session.quiet else f"converted {source} to {destination}")


@vhd.command("validate")
@click.argument("path")
@client_command(job=True)
def validate(session: Session, path: str) -> None:
    """Check PATH (and its parents) for damage."""
    conn = session.single()
    call(session, conn, service(conn, "image"), "ValidateVirtualHardDisk", f"vhd validate {path}", Path=path)
    click.echo(path if session.quiet else f"{path} is valid")


@vhd.command("info")
@click.argument("path")
@client_command()
def info(session: Session, path: str) -> None:
    """Type, format, sizes and parent of PATH."""
    conn = session.single()
    target = service(conn, "image")
    session.wait = True  # the settings come back with the call; the job only says whether it worked
    out = call(session, conn, target, "GetVirtualHardDiskSettingData", f"vhd info {path}", Path=path)
    if not out.get("SettingData"):
        raise CommandFailure(f"vhd info {path}: GetVirtualHardDiskSettingData gave no SettingData")
    settings = parse_embedded(out["SettingData"])
    record = {
        "path": settings.get("Path") or path,
        "type": _name(TYPES, settings.get("Type")),
        "format": _name(FORMATS, settings.get("Format")),
        "size_bytes": _int(settings.get("MaxInternalSize")),
        "block_size": _int(settings.get("BlockSize")),
        "logical_sector_size": _int(settings.get("LogicalSectorSize")),
        "physical_sector_size": _int(settings.get("PhysicalSectorSize")),
        "parent": settings.get("ParentPath"),
    }
    try:
        state = call(session, conn, target, "GetVirtualHardDiskState", f"vhd info {path}", Path=path).get("State")
    except CommandFailure:
        state = None  # older servers have only the settings
    if state:
        values = parse_embedded(state)
        record.update({"file_size_bytes": _int(values.get("FileSize")), "in_use": values.get("InUse") in ("TRUE", "True", "true"),
                       "min_size_bytes": _int(values.get("MinInternalSize")),
                       "fragmentation_percent": _int(values.get("FragmentationPercentage"))})
    emit_one(session, record, "path")


def _name(table: dict[str, int], value: str | None) -> str | None:
    return next((k for k, v in table.items() if value is not None and str(v) == value), value)


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None
