"""A disputable architecture: what every party needs to score, prove and check its models.

An architecture is a *bundle*, a small canonical JSON naming by CID its float ONNX template
(the graph every model of it shares; a model is the template with other weights), the EZKL
settings its circuit is compiled with, and the SRS its keys are made from, plus the margin a
proof's top logit must lead by. Its id is the sha-256 of the bundle, which is also the digest
of the bundle's CID (a file under 1 MiB is one raw block: `deml.storage.unixfs`), so a payload
naming the id names where to fetch the bundle, and the fetch checks it. From the bundle anyone
rebuilds the same circuit and verifying key (EZKL's setup is deterministic: measured, the
same vk.key byte for byte in two folders), and so the verifier registered on chain.

A model of the architecture travels as a disputable payload (`binding.payload`): its weights
at the circuit's `param_scale`, which `onnx_of` puts back into the template for scoring.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from multiformats import CID

from deml._fs import write_atomic
from deml.exceptions import ProofError
from deml.model import codec
from deml.storage.base import Storage
from deml.zk import binding
from deml.zk import circuit as zk

BUNDLE_VERSION = 1
MAX_BUNDLE_BYTES = 256 * 1024
MAX_LOGROWS = 20  # an SRS of 2**20 rows is 134 MB; the zoo MLP's circuit needs 2**15
_SRS_BYTES = 4 + 2 * 64  # the header, then two G1 points (monomial, Lagrange) a row


@dataclass(frozen=True)
class Architecture:
    """One disputable architecture, as its bundle says."""

    name: str  # what people call it ("torch-mlp on digits"); not part of any check
    template: str  # CID of the float ONNX template
    srs: str  # CID of the KZG SRS (a ceremony's in a deployment; made locally on a dev chain)
    settings: dict[str, Any]  # EZKL's settings.json, as calibrated at registration
    margin: float = binding.MARGIN

    def bundle(self) -> bytes:
        """The canonical bytes the id names (sorted keys, no spaces)."""
        record = {
            "deml_architecture": BUNDLE_VERSION,
            "name": self.name,
            "template": self.template,
            "srs": self.srs,
            "settings": self.settings,
            "margin": self.margin,
        }
        return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()

    @property
    def id(self) -> bytes:
        return hashlib.sha256(self.bundle()).digest()

    @property
    def param_scale(self) -> int:
        return int(self.settings["run_args"]["param_scale"])

    @property
    def logrows(self) -> int:
        return int(self.settings["run_args"]["logrows"])


def cid_of(architecture_id: bytes) -> str:
    """Where an architecture's bundle is stored: the raw-block CID of its id."""
    if len(architecture_id) != 32:
        raise ProofError("an architecture id is 32 bytes")
    return str(CID("base32", 1, "raw", ("sha2-256", architecture_id)))


def parse(data: bytes) -> Architecture:
    """An architecture from its bundle's bytes; ProofError if they are not one."""
    try:
        record = json.loads(data)
        if record.pop("deml_architecture") != BUNDLE_VERSION:
            raise ValueError(f"version {BUNDLE_VERSION} only")
        arch = Architecture(**record)
        types_ok = all(isinstance(v, str) for v in (arch.name, arch.template, arch.srs))
        if not types_ok or not isinstance(arch.margin, float) or not 0 < arch.margin < 1e3:
            raise ValueError("name, template and srs are strings; the margin a positive float")
        if not 0 < arch.logrows <= MAX_LOGROWS or not 0 <= arch.param_scale <= 24:
            raise ValueError(f"logrows 1..{MAX_LOGROWS} and param_scale 0..24 only")
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ProofError(f"not an architecture bundle: {exc}") from exc
    if arch.bundle() != data:
        raise ProofError("the architecture bundle is not in its canonical form")
    return arch


def publish(
    storage: Storage,
    name: str,
    template: bytes,
    calibration: np.ndarray,
    folder: Path,
    srs: Path | None = None,
) -> Architecture:
    """Calibrate an architecture's settings on `calibration` (rows of its data), and store its
    template, SRS and bundle. Without `srs`, one is made here with a random secret: whoever
    holds it could forge proofs, so that is for a dev chain only (docs/disputes.md)."""
    settings = zk.make_settings(template, calibration, folder / "calibration")
    run_args = json.loads(settings.read_text())["run_args"]
    logrows = int(run_args["logrows"])
    if srs is None:
        srs = zk.generate_srs(folder / "srs" / f"k{logrows}.srs", logrows)
    arch = Architecture(
        name=name,
        template=str(storage.put(template)),
        srs=str(storage.put_file(srs)),
        settings=json.loads(settings.read_text()),
    )
    stored = storage.put(arch.bundle())
    if str(stored) != cid_of(arch.id):  # a bundle over one block would not be named by its id
        raise ProofError(f"the bundle was stored as {stored}, not as {cid_of(arch.id)}")
    return arch


def fetch(storage: Storage, architecture_id: bytes) -> Architecture:
    """The architecture `architecture_id` names, fetched by its CID (checked on read)."""
    return parse(storage.get(cid_of(architecture_id), max_size=MAX_BUNDLE_BYTES))


@dataclass(frozen=True)
class Local:
    """An architecture made ready on this machine: its template and its circuit's keys."""

    architecture: Architecture
    template: bytes
    circuit: zk.Circuit

    def onnx_of(self, values: list[int]) -> bytes:
        """The ONNX model of a payload's weights (the template with them)."""
        return binding.with_weights(self.template, values, self.architecture.param_scale)

    def compile(self, values: list[int], folder: Path) -> Path:
        """A model of the architecture compiled into its circuit, for proofs of it."""
        return zk.compile_model(self.onnx_of(values), self.circuit.settings, folder)


def prepare(arch: Architecture, storage: Storage, root: Path) -> Local:
    """Fetch an architecture's template and SRS and make its circuit's keys, once, under
    `root/<id>/` (a few seconds and ~150 MB for the zoo MLP); later calls reuse them."""
    folder = root / arch.id.hex()
    circuit = zk.Circuit(folder, folder / "kzg.srs")
    template_file = folder / "template.onnx"
    if not (folder / "ready").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        storage.get_to_file(arch.template, template_file, max_size=codec.MAX_MODEL_BYTES)
        storage.get_to_file(arch.srs, circuit.srs, max_size=_SRS_BYTES << arch.logrows)
        write_atomic(circuit.settings, [json.dumps(arch.settings).encode()])
        template = template_file.read_bytes()
        compiled = zk.compile_model(template, circuit.settings, folder / "template")
        zk.setup(compiled, circuit.settings, circuit.srs)
        (folder / "ready").write_text(arch.id.hex())
    return Local(arch, template_file.read_bytes(), circuit)


def pack(model: bytes, local: Local) -> bytes:
    """A competitor's float ONNX model as a disputable payload of `local`'s architecture;
    ProofError if the model is not of it (other parameter shapes or fixed constants)."""
    arch = local.architecture
    mine, theirs = binding.parameters(model), binding.parameters(local.template)
    if [p.shape for p in mine] != [p.shape for p in theirs]:
        raise ProofError(
            f"the model's parameters {[p.shape for p in mine]} are not those of {arch.name}"
            f" ({[p.shape for p in theirs]})"
        )
    values = binding.message(model, arch.param_scale)
    packed = local.onnx_of(values)
    if binding.fixed_constants(packed) != binding.fixed_constants(model):
        raise ProofError(
            f"the model's fixed constants (its input scale) are not those of {arch.name}:"
            " train it on the architecture's dataset"
        )
    return binding.payload(arch.id, values)
