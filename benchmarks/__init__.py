"""Benchmark scripts of latent-mdp (run as modules: ``python -m benchmarks.compare``)."""
