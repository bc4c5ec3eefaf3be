"""``Client.train``: a train job (docs/training-jobs.md) on a stored data
set, waited for with progress callbacks, answered with the published version."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from .job import Job, Progress

Layers = Union[str, Sequence[Any]]


@dataclass
class Trained:
    """What a train job published: ``model@version`` and how it went."""

    model: str
    version: int
    created: bool
    outcome: str
    epochs: int
    metrics: Dict[str, float]
    train_seconds: float
    dataset_sha256: str
    job_id: str

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"


def layer_specs(layers: Layers) -> List[Dict[str, Any]]:
    """``"32:relu,1:sigmoid"``, ``[(32, "relu"), (1, "sigmoid")]`` or the
    spec's own ``[{"units": 32, "activation": "relu"}, ...]`` as the spec's form."""
    if isinstance(layers, str):
        layers = [part.split(":", 1) for part in layers.split(",") if part]
    specs = []
    for layer in layers:
        if isinstance(layer, dict):
            specs.append(dict(layer))
        else:
            units, activation = layer
            specs.append({"units": int(units), "activation": str(activation)})
    return specs


def trained(result: Any) -> Trained:
    """The ``Trained`` of a train job's ``Result``."""
    out = result.output()
    return Trained(model=out.get("model", ""), version=int(out.get("version", 0)),
                   created=bool(out.get("created", True)), outcome=out.get("outcome", ""),
                   epochs=int(out.get("epochs", 0)), metrics=dict(out.get("metrics") or {}),
                   train_seconds=float(out.get("train_seconds", 0.0)),
                   dataset_sha256=str(out.get("dataset_sha256", "")), job_id=result.id)


def train(client: Any, dataset: str, *, layers: Layers, model: Optional[str] = None,
          wait: bool = True, on_progress: Optional[Callable[[Progress], None]] = None,
          timeout: Optional[float] = None, priority: int = 0, id: Optional[str] = None,
          **spec: Any) -> Union[Trained, Job]:
    """Train LAYERS on data set DATASET and publish the next version of
    MODEL (default: the data set's name). SPEC takes the other keys of the
    train spec (``loss``, ``optimizer``, ``lr``, ``epochs``, ``batch_size``,
    ``val_split``, ``patience``, ``seed``...; unknown ones fail the job).
    ON_PROGRESS gets a ``Progress`` after every epoch. With ``wait`` (the
    default) returns ``Trained``, raising ``JobFailed`` with the trainer's
    reason; else the ``Job`` (``maas.train.trained(job.result())``)."""
    params = {"dataset": dataset, "layers": layer_specs(layers)}
    params.update({k: v for k, v in spec.items() if v is not None})
    job = client.submit("train", model=model or dataset, params=params, priority=priority,
                        id=id, on_progress=on_progress)
    if not wait:
        return job
    return trained(job.result(timeout))
