"""The interop namespace: what WBEM clients read to discover the server,
its namespaces and the profiles it implements (DSP1033)."""

from cimprovider.providers.interop.profiles import Profile, ProfileCatalog
from cimprovider.providers.interop.register import register_interop, server_profiles

__all__ = ["Profile", "ProfileCatalog", "register_interop", "server_profiles"]
