"""Batch scoring: a file scored with one model version as the model server answers each row."""
