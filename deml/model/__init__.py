"""Models: the spec a dataset sets, export from PyTorch or Keras to ONNX, the checks every
untrusted model passes, the codecs and transforms that shrink it into a payload, inference
with ONNX Runtime, and the zoo of reference models.

May import: deml.exceptions only. Never unpickles anything.
"""
