"""Performance and science benchmarks of prodvae (scripts, not part of the library)."""
