"""Datasets: the DVC pipeline that prepares and packages one (`python -m deml.dataset`), the
package a host publishes and others fetch by CID, its .npz files and the test split's
encryption.

May import: deml.storage, deml.settings, deml._fs, deml.exceptions.
"""
