"""Fake outside services (Immich, PhotoPrism, a webhook receiver) as real local HTTP servers."""
