"""A domain undefined by another client while the backend reads every
domain's definition (bridges in use, MAC addresses taken) is skipped, not
taken for a failure: a server starting beside a migration that undefines
its VM on the same daemon failed to start ("cannot list bridges")."""

from __future__ import annotations

import libvirt

from cimprovider.backends.libvirt.host import attached_bridges, defined_domains

DOMAIN = """<domain type='test'><name>{name}</name><memory>65536</memory>
<os><type>hvm</type></os><devices>
<interface type='bridge'><mac address='52:54:00:00:00:{octet}'/><source bridge='br-{name}'/></interface>
</devices></domain>"""


def test_a_domain_undefined_mid_listing_is_skipped() -> None:
    conn = libvirt.open("test:///default")
    other = libvirt.open("test:///default")
    names = ["vanish-a", "vanish-b"]
    for octet, name in enumerate(names, start=10):
        conn.defineXML(DOMAIN.format(name=name, octet=octet))
    try:
        listing = defined_domains(conn)
        first = next(listing)  # the listing is taken; every later domain is read after this
        read = {first.findtext("name")}
        for name in names:
            if name not in read:
                other.lookupByName(name).undefine()  # another client undefines it now
        read.update(xml.findtext("name") for xml in listing)
        assert first.findtext("name") in read  # the listing ran to its end without raising
        assert not {f"br-{name}" for name in names if name != first.findtext("name")} & attached_bridges(conn)
    finally:
        for name in names:
            try:
                conn.lookupByName(name).undefine()
            except libvirt.libvirtError:
                pass
