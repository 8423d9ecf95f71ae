"""The proving child: `python -m deml.zk.prover JOB.json`. Proving a circuit takes hundreds of
MB to GB and seconds to minutes, and an untrusted model is parsed by EZKL's Rust code; a child
holds both, so that the caller's memory and time limits (set here, before EZKL is loaded) end
the proof, never the miner. A job names a compiled circuit and its keys, or (`network`) a
model to build them for first."""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    job_file = Path(argv[0])
    job = json.loads(job_file.read_text())
    memory = int(job["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Imported after the limits, so that EZKL loads under them.
    import ezkl

    from deml.zk import circuit

    if "network" in job:  # an untrusted model: its settings, circuit, SRS and keys, here
        settings = circuit.settings_from(
            Path(job["network"]), Path(job["calibration"]), Path(job["settings"])
        )
        compiled = circuit.compile_file(Path(job["network"]), settings, Path(job["compiled"]))
        logrows = json.loads(settings.read_text())["run_args"]["logrows"]
        srs = circuit.generate_srs(Path(job["srs_dir"]) / f"k{logrows}.srs", logrows)
        circuit.setup(compiled, settings, srs)
        job["srs"] = str(srs)
        job_file.write_text(json.dumps(job))  # the caller reads which SRS it was
    circuit.ezkl_call(
        ezkl.gen_witness, job["input"], job["compiled"], job["witness"],
        vk_path=job["vk"], srs_path=job["srs"],
    )  # fmt: skip
    ezkl.prove(job["witness"], job["compiled"], job["pk"], job["proof"], srs_path=job["srs"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
