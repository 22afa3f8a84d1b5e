"""Local models: manifests in ``models/``, assembled and verified GGUF files in the cache."""

from localfactory.models.manifest import GGUFFile, Manifest, OllamaServing, PackageSource

__all__ = ["GGUFFile", "Manifest", "OllamaServing", "PackageSource"]
