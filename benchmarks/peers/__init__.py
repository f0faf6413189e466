"""Benchmark-only peers: never imported by facesearch or embeddings (their weights or licences are not ours)."""
