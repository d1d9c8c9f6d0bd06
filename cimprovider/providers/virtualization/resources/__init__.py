"""A VM's resources: setting data, templates, pools, devices and integration components."""
