"""Moving a VM's definition: export, import, planned systems and cloning."""
