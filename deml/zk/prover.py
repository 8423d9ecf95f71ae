"""The proving child: `python -m deml.zk.prover JOB.json`. Proving a circuit takes hundreds of
MB to GB and seconds to minutes; a child holds it so that the caller's memory and time limits
(set here, before EZKL is loaded) end the proof, never the miner."""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text())
    memory = int(job["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Imported after the limits, so that EZKL loads under them.
    import ezkl

    from deml.zk.circuit import ezkl_call

    ezkl_call(
        ezkl.gen_witness, job["input"], job["compiled"], job["witness"],
        vk_path=job["vk"], srs_path=job["srs"],
    )  # fmt: skip
    ezkl.prove(job["witness"], job["compiled"], job["pk"], job["proof"], srs_path=job["srs"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
