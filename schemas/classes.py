"""Class names of the built-in procedural action set.

Kept in ``schemas`` (not beside the renderer) so that configuration can check a
class name without importing numpy-heavy rendering code.
"""

PROCEDURAL_CLASSES: tuple[str, ...] = (
    "walk_left",
    "walk_right",
    "run",
    "jump",
    "fall",
    "wave",
    "loiter",
    "turn_back",
)
