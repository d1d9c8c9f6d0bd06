"""Virtual hard disk images on the host: creating, converting, resizing,
compacting, merging, inspecting and validating VHD, VHDX, qcow2 and raw
files. qemu-img does what it does well; the VHD format's differencing disks,
merges and resizes are done here from Microsoft's published specification.
No CIM in here: the Msvm_ImageManagementService provider calls
`ImageService` and maps the errors to Hyper-V's return codes."""

from cimprovider.backends.images.chains import confined_chain
from cimprovider.backends.images.drive_media import DriveMedia
from cimprovider.backends.images.errors import (
    CorruptImageError,
    ImageError,
    ImageInUseError,
    ImageNotFoundError,
    ImageToolTimeoutError,
    InvalidImageParameterError,
    PathOutsideStorageError,
)
from cimprovider.backends.images.passthrough_disks import PassthroughDisks
from cimprovider.backends.images.qemu_img import CheckResult, ImageInfo, QemuImg
from cimprovider.backends.images.formats import detect_format
from cimprovider.backends.images.service import ImageService
from cimprovider.backends.images.storage_roots import StorageRoots
from cimprovider.backends.images.vhd_chain import VhdChain

__all__ = [
    "CheckResult",
    "CorruptImageError",
    "DriveMedia",
    "ImageError",
    "ImageInUseError",
    "ImageInfo",
    "ImageNotFoundError",
    "ImageService",
    "ImageToolTimeoutError",
    "InvalidImageParameterError",
    "PassthroughDisks",
    "PathOutsideStorageError",
    "QemuImg",
    "StorageRoots",
    "VhdChain",
    "confined_chain",
    "detect_format",
]
