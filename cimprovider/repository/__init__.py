"""The class repository: the MOF schema compiled into classes and qualifier
declarations per namespace, and the class operations on it.

    repo = ClassRepository.load(cache_dir)
    cls = repo.get_class("root/interop", "cim_registeredprofile")
    view = shape_class(cls, local_only=False, include_qualifiers=True,
                       include_class_origin=False, property_list=None)
"""

from .classes import ClassRepository
from .compiler import SchemaCompileError, default_cache_dir
from .manifest import INTEROP_NAMESPACE, NAMESPACE_FILES, VIRTUALIZATION_NAMESPACE
from .shaping import shape_class

__all__ = [
    "ClassRepository",
    "INTEROP_NAMESPACE",
    "NAMESPACE_FILES",
    "SchemaCompileError",
    "VIRTUALIZATION_NAMESPACE",
    "default_cache_dir",
    "shape_class",
]
