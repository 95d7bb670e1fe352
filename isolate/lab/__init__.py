"""The embedded lab: simulated network devices served over real SSH on loopback."""
