"""The paper's experiments: which zoo family, which activations, which optimizer.

Settings follow the paper (see /work/shared/paper-notes.md): depth uses Adam lr 1e-3,
batch 32; width SGD batch 32; params RMSprop lr 1e-4; AllCNN SGD with Nesterov 0.9;
ResNet Adam lr 1e-3, batch 128, with BN or with every BN removed (``resnet-nobn``).
"""

from __future__ import annotations

from dataclasses import dataclass

from linkedonnx.errors import BadInputError

_PAIRS = ("relu", "lk-relu", "prelu", "lk-prelu", "selu", "lk-selu", "swish", "lk-swish")
#: The paper's no-BN ResNet table (LK-ReLU, SELU, LK-SELU) plus ReLU, each without BN (the
#: experiment's '-nobn' suffix) and with it ('-bn'); the first is the time reference.
_NOBN_ROWS = tuple(row for a in ("lk-relu", "selu", "lk-selu", "relu") for row in (a, f"{a}-bn"))


@dataclass(frozen=True)
class Experiment:
    """One comparison: zoo ``family``, default ``activations`` and training settings;
    ``time_reference`` names the activation the report's time ratios divide by."""

    name: str
    family: str
    activations: tuple[str, ...]
    optimizer: str
    lr: float
    batch_size: int
    momentum: float = 0.0
    nesterov: bool = False
    suffix: str = ""
    #: the activation whose runs the wall-time ratios divide by (None: no ratio table)
    time_reference: str | None = None

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
            _NOBN_ROWS,
            "adam",
            1e-3,
            128,
            suffix="-nobn",
            time_reference="lk-relu",
        ),
    )
}


#: Training recipes: 'default' (the settings above, PyTorch layers, shuffled epochs) and
#: 'paper' (the runs as the authors' Keras code trained them: see :data:`PAPER_RECIPES`,
#: docs/results/depth-paper/README.md and docs/results/resnet-nobn/README.md).
RECIPES = ("default", "paper")


@dataclass(frozen=True)
class Recipe:
    """How the paper recipe trains: optimizer (with Keras' ``lr_decay``), batch, epoch
    order, layer semantics and whether batches get the authors' flips and shifts."""

    optimizer: str
    lr: float
    batch_size: int
    shuffle: bool
    keras_layers: bool
    lr_decay: float = 0.0
    augment: bool = False


#: The authors' recipe per experiment (blauigris/linked_neurons, ``tests/test_article``):
#:
#: - depth (``test_depth.py``, ``depth.py``): ``adam(lr=0.001)`` (Keras 2's update),
#:   batch 32, ``shuffle=False``; Keras PReLU (per element, from 0) and
#:   ``Conv2D(4, (7, 7), strides=(2, 2), padding='same')`` (TensorFlow's padding);
#: - resnet-nobn (``test_nobatchnorm.py``, ``resnet50.py``): ``Adam(lr=1e-3,
#:   decay=1e-6)``, batch 128, ``fit_generator`` over ``ImageDataGenerator.flow`` (shuffled,
#:   flips and 10% shifts), Keras BatchNormalization (momentum 0.99, eps 1e-3), Flatten +
#:   Dense head.
PAPER_RECIPES: dict[str, Recipe] = {
    "depth": Recipe("adam-keras", 1e-3, 32, shuffle=False, keras_layers=True),
    "resnet-nobn": Recipe(
        "adam-keras", 1e-3, 128, shuffle=True, keras_layers=True, lr_decay=1e-6, augment=True
    ),
}

#: The depth recipe (kept under its first name).
PAPER_RECIPE = PAPER_RECIPES["depth"]

#: Experiments the paper recipe is written for.
PAPER_RECIPE_EXPERIMENTS = tuple(PAPER_RECIPES)


def get(name: str) -> Experiment:
    """The experiment called ``name``; BadInputError for an unknown one."""
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise BadInputError(
            f"unknown experiment {name!r}; expected one of {', '.join(EXPERIMENTS)}"
        ) from None
