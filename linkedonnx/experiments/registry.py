"""The paper's experiments: which zoo family, which activations, which optimizer.

Settings follow the paper (see /work/shared/paper-notes.md): depth uses Adam lr 1e-3,
batch 32; width SGD batch 32; params RMSprop lr 1e-4; AllCNN SGD with Nesterov 0.9;
ResNet Adam lr 1e-3, batch 128, with BN or with every BN removed (``resnet-nobn``).
"""

from __future__ import annotations

from dataclasses import dataclass

from linkedonnx.errors import BadInputError

_PAIRS = ("relu", "lk-relu", "prelu", "lk-prelu", "selu", "lk-selu", "swish", "lk-swish")


@dataclass(frozen=True)
class Experiment:
    """One comparison: zoo ``family``, default ``activations`` and training settings."""

    name: str
    family: str
    activations: tuple[str, ...]
    optimizer: str
    lr: float
    batch_size: int
    momentum: float = 0.0
    nesterov: bool = False
    suffix: str = ""

    def model_name(self, activation: str) -> str:
        """The zoo name of this experiment's model with ``activation`` (e.g. 'lk-relu')."""
        name = f"{self.family}/{activation}"
        if self.suffix and not activation.endswith(("-bn", "-nobn")):
            name += self.suffix
        return name


EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment("depth", "depth", _PAIRS, "adam", 1e-3, 32),
        Experiment("width", "width", _PAIRS, "sgd", 1e-2, 32),
        Experiment(
            "params",
            "params",
            ("relu", "ext-relu", "lk-relu", "prelu", "ext-prelu", "lk-prelu"),
            "rmsprop",
            1e-4,
            32,
        ),
        Experiment("allcnn", "allcnn", _PAIRS, "sgd", 1e-2, 32, momentum=0.9, nesterov=True),
        Experiment("resnet", "resnet", _PAIRS, "adam", 1e-3, 128),
        Experiment(
            "resnet-nobn",
            "resnet",
            ("lk-relu", "relu-bn", "lk-relu-bn", "selu", "lk-selu"),
            "adam",
            1e-3,
            128,
            suffix="-nobn",
        ),
    )
}


#: Training recipes: 'default' (the settings above, PyTorch layers, shuffled epochs) and
#: 'paper' (the depth runs as the authors' Keras code trained them: see
#: :data:`PAPER_RECIPE` and docs/results/depth-paper/README.md).
RECIPES = ("default", "paper")


@dataclass(frozen=True)
class Recipe:
    """How the paper recipe trains: optimizer, batch, epoch order and layer semantics."""

    optimizer: str
    lr: float
    batch_size: int
    shuffle: bool
    keras_layers: bool


#: ``tests/test_article/test_depth.py``: ``adam(lr=0.001)`` (Keras 2's update), batch 32,
#: ``shuffle=False``; ``tests/test_article/depth.py``: Keras PReLU (per element, from 0)
#: and ``Conv2D(4, (7, 7), strides=(2, 2), padding='same')`` (TensorFlow's padding).
PAPER_RECIPE = Recipe("adam-keras", 1e-3, 32, shuffle=False, keras_layers=True)

#: Experiments the paper recipe is written for.
PAPER_RECIPE_EXPERIMENTS = ("depth",)


def get(name: str) -> Experiment:
    """The experiment called ``name``; BadInputError for an unknown one."""
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise BadInputError(
            f"unknown experiment {name!r}; expected one of {', '.join(EXPERIMENTS)}"
        ) from None
