"""DefineSystem with a ReferenceConfiguration: a clone of the referenced VM
(its settings overlaid by SystemSettings, if given) with a new GUID, new
device identities and new dynamic MAC addresses (static ones are kept, as
Hyper-V keeps a static MAC it was given), and its own disks.

The disks are full copies, flattened, in `<first storage root>/<clone
GUID>/Virtual Hard Disks/`. Differencing children of the source's disks
would be cheaper but wrong here: the source VM goes on writing to its disk,
which a child's parent must never see, so the source would first have to be
moved onto children of its own (as a snapshot does). A copy is independent
both ways. DVD drives keep their ISO files, which are read only."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable
from uuid import UUID

from cimprovider.backends.images import ImageService
from cimprovider.providers.base import MethodReturn
from cimprovider.providers.virtualization.embedded import read_embedded
from cimprovider.providers.virtualization.portability.export_folder import DISK_FOLDER
from cimprovider.providers.virtualization.storage.image_copies import copy_image, copy_name
from cimprovider.providers.virtualization.portability.import_ import define_from, fresh_identity
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.systems.settings import VSSD, read_vssd, settings_from_bag
from cimprovider.providers.virtualization.unhonoured import refuse_unhonoured
from cimprovider.schemas.devices import DriveType
from cimprovider.schemas.power import PowerState

Handler = Callable[[dict[str, Any]], MethodReturn]


class Cloner:
    def __init__(self, virt: Virtualization, images: ImageService, management: Any) -> None:
        self.virt = virt
        self.images = images
        self.management = management  # the VSMS provider: reference lookup and add_one

    def define_hook(self, define: Handler) -> Handler:
        def define_system(params: dict[str, Any]) -> MethodReturn:
            if params.get("ReferenceConfiguration") is None:
                return define(params)
            return self.clone(params)

        return define_system

    def clone(self, params: dict[str, Any]) -> MethodReturn:
        source = self.management.vm_of_configuration(params["ReferenceConfiguration"], "ReferenceConfiguration")
        text = params.get("SystemSettings")
        bag = read_vssd(text, "SystemSettings") if text else None
        shown = self.management.shown_before(source)
        settings = settings_from_bag(bag, source.settings, self.management.roots(), shown) if bag is not None else source.settings
        if bag is not None:
            # What the client did not ask the clone to change must be as the source has it.
            refuse_unhonoured(self.virt.renderer, VSSD, bag, shown, frozenset({"instanceid"}))
        resources = [read_embedded(item, "ResourceSettings") for item in params.get("ResourceSettings") or []]
        blueprint = fresh_identity(source).model_copy(update={**dict(settings), "power_state": PowerState.OFF})
        folder = self.images.roots.roots[0] / str(blueprint.id).upper()
        disks = [d for d in blueprint.drives if d.drive_type is DriveType.DISK and d.media is not None]
        for drive in disks:
            self.images.get_settings(Path(drive.media.path))  # type: ignore[union-attr]  # readable, inside the roots
        folder.joinpath(DISK_FOLDER).mkdir(parents=True)
        try:
            media = self.copy_disks(disks, folder / DISK_FOLDER)
            vm = define_from(self.virt.backend, blueprint, media, keep_dvd_media=True)
            try:
                for bag in resources:
                    self.management.add_one(self.virt.backend.get_vm(vm.id), bag)
            except BaseException:
                self.virt.backend.destroy_vm(vm.id)
                raise
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return MethodReturn(0, {"ResultingSystem": self.virt.vm_path(vm.id)})

    def copy_disks(self, disks: list[Any], folder: Path) -> dict[UUID, str]:
        taken: set[str] = set()
        media = {}
        for drive in disks:
            source = Path(drive.media.path)
            media[drive.id] = str(copy_image(self.images, source, folder / copy_name(self.images, source, taken)))
        return media

