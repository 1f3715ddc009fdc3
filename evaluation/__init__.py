"""Measuring clips: the judge classifier, I3D features for FVD, per-clip statistics and dataset metrics.

Torch and numpy only (no Beam, no Prefect), like :mod:`generators`, and apart from it: a
generator family is judged by these instruments, never by its own code.
"""
