"""The architectures a party knows: registered on chain, fetched by id, made ready once.

Miners score a disputable payload (`deml.zk.binding`: an architecture id and its weights) as
the architecture's template with those weights; challengers prove on its circuit. What
counts is the chain's registry: a payload naming an unregistered architecture scores 0 on
every honest miner alike, while a registered one whose bundle cannot be fetched now is an
outage (StorageError, retried), never a 0.
"""

from __future__ import annotations

from pathlib import Path

from deml.contracts.bindings import Architectures, Competition
from deml.exceptions import ProofError
from deml.model import codec
from deml.storage.base import Storage
from deml.zk import architecture, binding

# How a disputable model goes into the scoring sandbox: as a payload of the one format it
# reads, the ONNX losslessly compressed (its weights are multiples of 2**-param_scale).
SCORING_CODEC = codec.Codec("", "lzma")


class Catalogue:
    """Architectures by id, from the registry on chain and content storage, kept under
    `root` (`<state_dir>/zk/architectures`)."""

    def __init__(self, registry: Architectures, storage: Storage, root: Path) -> None:
        self.registry = registry
        self.storage = storage
        self.root = Path(root)
        self._ready: dict[bytes, architecture.Local] = {}

    def local(self, architecture_id: bytes) -> architecture.Local:
        """The architecture made ready here; ProofError if the chain does not know it."""
        if architecture_id not in self._ready:
            if self.registry.weights(architecture_id) == 0:
                raise ProofError(f"architecture 0x{architecture_id.hex()} is not registered")
            arch = architecture.fetch(self.storage, architecture_id)
            self._ready[architecture_id] = architecture.prepare(arch, self.storage, self.root)
        return self._ready[architecture_id]

    def scorable(self, payload: bytes) -> tuple[bytes | None, str | None]:
        """A revealed payload as the sandbox scores it: unchanged unless disputable, else its
        model in the scoring codec; (None, why) when a disputable payload is no model."""
        if not payload.startswith(binding.PAYLOAD_MAGIC):
            return payload, None
        try:
            architecture_id, values = binding.weights_of(payload)
            model = self.local(architecture_id).onnx_of(values)
        except ProofError as exc:
            return None, f"a disputable payload that is no model: {exc}"
        return codec.encode(model, SCORING_CODEC), None


def catalogue_for(comp: Competition, storage: Storage, state_dir: Path) -> Catalogue:
    """The catalogue of a competition's dispute contract, kept in this state dir."""
    registry = comp.disputes().architectures()
    return Catalogue(registry, storage, Path(state_dir) / "zk" / "architectures")
