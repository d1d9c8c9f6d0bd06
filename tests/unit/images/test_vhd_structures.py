"""Footer, dynamic header and geometry: round trips and checksums."""

from __future__ import annotations

from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cimprovider.backends.images.vhd_format import (
    LOCATOR_COUNT,
    DiskType,
    DynamicHeader,
    Footer,
    Geometry,
    ParentLocator,
    PlatformCode,
    VhdFormatError,
    checksum,
)

uuids = st.builds(UUID, bytes=st.binary(min_size=16, max_size=16))
u32 = st.integers(0, 2**32 - 1)
sizes = st.integers(1, 2**40).map(lambda n: n * 512)
footers = st.builds(
    Footer,
    disk_type=st.sampled_from(list(DiskType)),
    current_size=sizes,
    original_size=sizes,
    unique_id=uuids,
    data_offset=st.integers(512, 2**40),
    timestamp=u32,
    geometry=st.builds(Geometry, st.integers(0, 65535), st.integers(0, 255), st.integers(0, 255)),
    saved_state=st.booleans(),
)
locators = st.builds(
    ParentLocator,
    platform_code=st.sampled_from([PlatformCode.NONE, PlatformCode.ABSOLUTE, PlatformCode.RELATIVE]),
    data_space=u32,
    data_length=u32,
    data_offset=st.integers(0, 2**63),
)
headers = st.builds(
    DynamicHeader,
    table_offset=st.integers(0, 2**63),
    max_table_entries=u32,
    block_size=st.integers(9, 28).map(lambda n: 2**n),
    parent_unique_id=uuids,
    parent_timestamp=u32,
    parent_name=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=100),
    locators=st.lists(locators, min_size=LOCATOR_COUNT, max_size=LOCATOR_COUNT).map(tuple),
)


@given(footers)
def test_footer_round_trip(footer: Footer) -> None:
    data = footer.pack()
    assert len(data) == 512 and data[:8] == b"conectix"
    assert Footer.unpack(data) == footer


@given(footers, st.integers(0, 511).filter(lambda i: not 64 <= i < 68), st.integers(1, 255))
def test_any_changed_footer_byte_breaks_the_checksum(footer: Footer, index: int, delta: int) -> None:
    data = bytearray(footer.pack())
    data[index] = (data[index] + delta) % 256
    with pytest.raises(VhdFormatError):
        Footer.unpack(bytes(data))


@given(headers)
def test_header_round_trip(header: DynamicHeader) -> None:
    data = header.pack()
    assert len(data) == 1024 and data[:8] == b"cxsparse"
    assert DynamicHeader.unpack(data) == header


@given(headers, st.integers(0, 1023).filter(lambda i: not 36 <= i < 40))
def test_a_changed_header_byte_breaks_it(header: DynamicHeader, index: int) -> None:
    data = bytearray(header.pack())
    data[index] ^= 0x01
    with pytest.raises(VhdFormatError):
        DynamicHeader.unpack(bytes(data))


@given(st.binary(min_size=512, max_size=512))
def test_checksum_is_the_ones_complement_of_the_other_bytes(data: bytes) -> None:
    value = checksum(data, slice(64, 68))
    assert (value + sum(data[:64]) + sum(data[68:])) & 0xFFFFFFFF == 0xFFFFFFFF


def test_parent_name_is_utf16_big_endian_and_locators_are_in_place() -> None:
    header = DynamicHeader(table_offset=1536, max_table_entries=2, parent_name="base é.vhd")
    data = header.pack()
    assert data[64 : 64 + 20] == "base é.vhd".encode("utf-16-be")


@given(st.integers(1, 65535 * 16 * 255).map(lambda n: n * 512))
def test_geometry_never_exceeds_the_disk(size: int) -> None:
    geometry = Geometry.for_size(size)
    assert geometry.size <= size
    assert geometry.heads <= 16 and geometry.sectors_per_track <= 255 and geometry.cylinders <= 65535


def test_geometry_matches_the_specification_table() -> None:
    # Worked by hand through the appendix: 127 MiB = 260096 sectors → 17
    # spt, 15299 cylinder×heads, 15 heads; 2 GiB → 63 spt; 1 TiB → the cap.
    assert Geometry.for_size(127 * 2**20) == Geometry(1019, 15, 17)
    assert Geometry.for_size(2 * 2**30) == Geometry(4161, 16, 63)
    assert Geometry.for_size(2**40) == Geometry(65535, 16, 255)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: b"conectiz" + d[8:], "cookie"),
        (lambda d: d[:100], "bytes, expected 512"),
    ],
)
def test_bad_footers_say_what_is_wrong(change, message: str) -> None:  # type: ignore[no-untyped-def]
    footer = Footer(disk_type=DiskType.DYNAMIC, current_size=4096, original_size=4096, unique_id=UUID(int=1), data_offset=512)
    with pytest.raises(VhdFormatError, match=message):
        Footer.unpack(change(footer.pack()))


def test_unknown_disk_type_is_refused() -> None:
    footer = Footer(disk_type=DiskType.FIXED, current_size=4096, original_size=4096, unique_id=UUID(int=1))
    data = bytearray(footer.pack())
    data[60:64] = (5).to_bytes(4, "big")
    data[64:68] = checksum(bytes(data), slice(64, 68)).to_bytes(4, "big")
    with pytest.raises(VhdFormatError, match="disk type 5"):
        Footer.unpack(bytes(data))
