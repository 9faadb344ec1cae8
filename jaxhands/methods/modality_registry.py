"""Modalities by name: the keypoint, image and point-cloud modalities, registered when
this module is imported (no registration by import side effect elsewhere, no cycle:
the modality modules import jaxhands.methods.modalities, never this one)."""

from __future__ import annotations

from jaxhands.methods.image_modalities import IMAGE_MODALITIES
from jaxhands.methods.modalities import KEYPOINT_MODALITIES, Modality
from jaxhands.methods.point_modalities import POINT_MODALITIES

_MODALITIES: dict[str, Modality] = {m.name: m for m in KEYPOINT_MODALITIES + IMAGE_MODALITIES + POINT_MODALITIES}


def register_modality(modality: Modality) -> None:
    """Adds (or replaces) a modality, e.g. a new sensor for an extension of a method."""
    _MODALITIES[modality.name] = modality


def get_modality(name: str) -> Modality:
    if name not in _MODALITIES:
        raise ValueError(f"unknown modality {name!r}; known modalities: {sorted(_MODALITIES)}")
    return _MODALITIES[name]


def modality_names() -> list[str]:
    return sorted(_MODALITIES)
