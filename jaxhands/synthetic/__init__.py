"""Built-in synthetic hand dataset: a kinematic capsule hand rendered by exact ray casting.

Public entry points: `generate_sample(index, *, seed, image_size, num_points, config)`
returns one sample in the schema of jaxhands.data.schema, fully determined by
(seed, index); `generate_samples` stacks several; `SyntheticConfig` holds the knobs.
"""

from jaxhands.synthetic.config import SyntheticConfig
from jaxhands.synthetic.generator import Scene, generate_sample, generate_samples, render_scene, sample_scene

__all__ = ["Scene", "SyntheticConfig", "generate_sample", "generate_samples", "render_scene", "sample_scene"]
