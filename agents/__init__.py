"""Embeddings, vector index, matching and LLM tasks with offline fallbacks."""
