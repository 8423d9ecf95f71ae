"""Zero-knowledge proofs of one inference, for disputes (docs/disputes.md).

`circuit` turns a model's ONNX into an EZKL circuit with its weights committed (`polycommit`:
one verifying key per architecture, the weights' KZG commitment in the proof's first 64
bytes), proves what the model predicts on one sample in a child process with memory and time
limits, and reads the proof's public values back (the sample as fixed point, the logits).
"""
