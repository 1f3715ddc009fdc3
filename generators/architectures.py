"""Generator families by name: the one place that maps ``ModelConfig.architecture`` to a network class.

Every family takes ``(num_classes, z_dim, channels, frames, size)``, has
``num_classes``, ``z_dim``, ``frames`` and ``size`` attributes and a
``forward_parts(z, y) -> VideoParts``, so training, sampling and checkpoints
treat them alike. The critics (generators/networks.py) are shared.
"""

from __future__ import annotations

from torch import nn

from generators.cmgan import ContentMotionGenerator
from generators.networks import VideoGenerator
from schemas.config import ClipFormat, ModelConfig

__all__ = ["GENERATORS", "build_generator"]

GENERATORS: dict[str, type[nn.Module]] = {
    "vgan": VideoGenerator,
    "cmgan": ContentMotionGenerator,
}


def build_generator(model: ModelConfig, num_classes: int, clip: ClipFormat) -> nn.Module:
    """A freshly initialised generator of the family and width ``model`` names, for clips of ``clip``'s shape."""
    try:
        family = GENERATORS[model.architecture]
    except KeyError:
        raise ValueError(f"unknown generator architecture {model.architecture!r}; known: {sorted(GENERATORS)}") from None
    return family(num_classes, model.z_dim, model.channels, clip.frames, clip.size)
