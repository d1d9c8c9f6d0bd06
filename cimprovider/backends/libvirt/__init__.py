"""The KVM backend: Hyper-V's model over libvirt (`pip install cimprovider[kvm]`)."""

from cimprovider.backends.libvirt.backend import LibvirtBackend

__all__ = ["LibvirtBackend"]
