"""Virtual hard disks: the image management service, its storage jobs, disk settings and image copies."""
