"""Devices of an offered definition whose backends reach the host other
than through a disk or a console file: what QEMU would open, bind, read or
run on the destination's behalf as the VM starts.

- a display listening on a UNIX socket at a path of the offer's choosing
  (QEMU removes whatever is at that path before it binds there);
- a host TPM (passthrough), an external TPM's socket, or an emulated
  TPM's state at a path of the offer's choosing;
- a random-number source read from a host file other than the kernel's
  own generators, or an EGD daemon's socket;
- the host's input devices (evdev passthrough);
- a network interface's up or down script (a host program run as the
  VM starts) or a vhost-user socket;
- an NVDIMM or virtio-pmem memory device backed by a host file;
- ACPI tables or fw_cfg entries read from host files into the guest;
- sound written to a host file or a host sound device.

Each is refused naming the element and the path: none of them is a file
the offer carries, and a destination gives such devices only by its own
settings. A display without a socket (the console's `listen type='none'`),
the kernel's /dev/urandom, /dev/random or /dev/hwrng, an emulated TPM
(libvirt keeps its state) and libvirt's own sound and input defaults
stay as they are."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from lxml import etree

KERNEL_RANDOM = frozenset({"/dev/urandom", "/dev/random", "/dev/hwrng"})

Finder = Callable[[etree._Element], Iterator[str]]


def _graphics(element: etree._Element) -> Iterator[str]:
    kind = element.get("type")
    sockets = [element.get("socket")] + [listen.get("socket") for listen in element.iterfind("listen")]
    for path in filter(None, sockets):
        yield f"its <graphics type='{kind}'> listens on the host socket {path}"


def _path_of(element: etree._Element | None) -> str:
    return element.get("path", "(the default)") if element is not None else "(the default)"


def _tpm(element: etree._Element) -> Iterator[str]:
    for backend in element.iterfind("backend"):
        kind = backend.get("type")
        if kind == "passthrough":
            yield f"its <tpm> passes the host's TPM device {_path_of(backend.find('device'))} through"
        for source in backend.iterfind("source"):
            if source.get("path"):  # an external TPM's socket, or an emulated one's state at a path of its choosing
                yield f"its <tpm> backend of type {kind} names the host path {source.get('path')}"


def _rng(element: etree._Element) -> Iterator[str]:
    for backend in element.iterfind("backend"):
        model = backend.get("model")
        path = (backend.text or "").strip()
        if model == "random" and path and path not in KERNEL_RANDOM:
            yield f"its <rng> reads the host file {path}"
        elif model == "egd":
            for source in backend.iterfind("source"):
                if source.get("path"):
                    yield f"its <rng> reads the host socket or file {source.get('path')}"


def _input(element: etree._Element) -> Iterator[str]:
    for source in element.iterfind("source"):
        for attribute in ("evdev", "dev"):
            if source.get(attribute):
                yield f"its <input type='{element.get('type')}'> takes the host's input device {source.get(attribute)}"


def _interface(element: etree._Element) -> Iterator[str]:
    for tag in ("script", "downscript"):
        for script in element.iterfind(tag):
            if script.get("path"):
                yield f"its <interface> runs the host program {script.get('path')} (<{tag}>)"
    if element.get("type") == "vhostuser":
        for source in element.iterfind("source"):
            if source.get("path"):
                yield f"its <interface type='vhostuser'> connects to the host socket {source.get('path')}"


def _memory_device(element: etree._Element) -> Iterator[str]:
    for path in element.iterfind("source/path"):
        if (path.text or "").strip():
            yield f"its <memory model='{element.get('model')}'> is backed by the host file {path.text.strip()}"


def _acpi_table(element: etree._Element) -> Iterator[str]:
    if (element.text or "").strip():
        yield f"it reads an ACPI table from the host file {element.text.strip()}"


def _sysinfo(element: etree._Element) -> Iterator[str]:
    for entry in element.iterfind("entry"):
        if entry.get("file"):
            yield f"its <sysinfo type='{element.get('type')}'> reads the host file {entry.get('file')}"


def _audio(element: etree._Element) -> Iterator[str]:
    if element.get("path"):
        yield f"its <audio type='{element.get('type')}'> writes to the host file {element.get('path')}"
    for direction in ("input", "output"):
        for end in element.iterfind(direction):
            if end.get("dev"):
                yield f"its <audio type='{element.get('type')}'> uses the host sound device {end.get('dev')}"


# Where each kind of device sits in a domain, and how its host paths are found.
_FINDERS: tuple[tuple[str, Finder], ...] = (
    ("devices/graphics", _graphics),
    ("devices/tpm", _tpm),
    ("devices/rng", _rng),
    ("devices/input", _input),
    ("devices/interface", _interface),
    ("devices/memory", _memory_device),
    ("devices/audio", _audio),
    ("os/acpi/table", _acpi_table),
    ("sysinfo", _sysinfo),
)


def host_device_reasons(domain: etree._Element) -> list[str]:
    """Why a domain's devices cannot be taken here (empty: they can)."""
    found = []
    for where, finder in _FINDERS:
        for element in domain.iterfind(where):
            found += [f"the VM's definition asks for a device reaching the host: {reason}" for reason in finder(element)]
    return found
