"""Which MOF files make up which namespace.

The files live in the ``cimprovider.mof`` package (the top-level ``mof/``
folder). Order matters: a file may only use qualifiers and classes compiled
before it, so every list starts with the qualifier declarations and then the
DMTF classes, superclasses first.

Placement decisions:

* ``root/interop`` holds the WBEM-server classes (CIM_Namespace,
  CIM_ObjectManager), the profile registry and the indication-subscription
  classes, as DSP1033/DSP1054 and pywbem's WBEMServer expect.
* ``root/virtualization/v2`` holds the Msvm classes. It also gets the
  profile classes (interop/profiles.mof): CIM_ElementConformsToProfile
  instances join a profile in interop to a central Msvm instance, and a
  client traversing from the Msvm side names that association class in this
  namespace.
* Both namespaces hold the DMTF base classes, including the CIM_Inst*
  indication classes: filters are created in interop but select
  indications whose source namespace is v2.
"""

from __future__ import annotations

INTEROP_NAMESPACE = "root/interop"
VIRTUALIZATION_NAMESPACE = "root/virtualization/v2"

QUALIFIER_FILES: tuple[str, ...] = ("qualifiers.mof",)

DMTF_FILES: tuple[str, ...] = (
    "dmtf/core.mof",
    "dmtf/jobs.mof",
    "dmtf/systems.mof",
    "dmtf/devices.mof",
    "dmtf/settings.mof",
    "dmtf/capabilities.mof",
    "dmtf/virtualization.mof",
    "dmtf/indications.mof",
    "dmtf/alerts.mof",
    "dmtf/associations.mof",
    "dmtf/metrics.mof",
)

INTEROP_FILES: tuple[str, ...] = (
    "interop/wbem.mof",
    "interop/profiles.mof",
    "interop/indications.mof",
)

PROFILE_FILES: tuple[str, ...] = ("interop/profiles.mof",)

MSVM_FILES: tuple[str, ...] = (
    "msvm/settings_system.mof",
    "msvm/settings_resources.mof",
    "msvm/jobs.mof",
    "msvm/systems.mof",
    "msvm/devices.mof",
    "msvm/pools.mof",
    "msvm/management.mof",
    "msvm/services.mof",
    "msvm/associations.mof",
    "dmtf/network.mof",
    "msvm/network.mof",
    "msvm/metrics.mof",
)

# cimprovider's own classes, beside the Msvm ones they serve.
EXTENSION_FILES: tuple[str, ...] = ("cimprovider/migration.mof",)

NAMESPACE_FILES: dict[str, tuple[str, ...]] = {
    INTEROP_NAMESPACE: QUALIFIER_FILES + DMTF_FILES + INTEROP_FILES,
    VIRTUALIZATION_NAMESPACE: QUALIFIER_FILES + DMTF_FILES + PROFILE_FILES + MSVM_FILES + EXTENSION_FILES,
}
"""Namespace name -> MOF files (relative to the mof folder), in compile order."""
