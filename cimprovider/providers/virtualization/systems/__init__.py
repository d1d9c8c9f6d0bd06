"""Virtual machines and the host as systems: Msvm_ComputerSystem, its settings, summary, states and the management service."""
