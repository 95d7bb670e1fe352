"""isolate: surgical, fast, provably reversible network isolation for ransomware containment."""

__version__ = "0.1.0"
