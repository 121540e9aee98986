"""Model backends: which one serves the engines is decided here, from the settings.

``backend = "vllm"`` (the default): ``ModelClient`` (``model/client.py``) talks to an
OpenAI-compatible vLLM server. ``backend = "transformers"``: ``TransformersBackend``
runs the model in this process; torch and transformers are imported only then, on the
device thread, and a machine without them gets a ``ModelError`` naming the optional
extra (``pip install 'mistral-lsp[local]'``) on first use. Both satisfy ``Backend``.
"""

from __future__ import annotations

from lsp_server.model.backends.base import Backend, BackendSettings
from lsp_server.model.client import ModelClient


def create_backend(settings: BackendSettings, *, connect_timeout_s: float | None = None) -> Backend:
    """The backend the settings choose (cheap: nothing is loaded or connected yet)."""
    if settings.backend == "transformers":
        from lsp_server.model.backends.transformers import TransformersBackend

        return TransformersBackend(settings.model, device=settings.device, dtype=settings.dtype)
    timeout = settings.connect_timeout_s if connect_timeout_s is None else connect_timeout_s
    return ModelClient(settings.endpoint, settings.model, settings.api_key, connect_timeout_s=timeout)


def backend_key(settings: BackendSettings) -> tuple[object, ...]:
    """What the backend is built from: a change means a new backend (a new connection, or a reload)."""
    if settings.backend == "transformers":
        return (settings.backend, settings.model, settings.device, settings.dtype)
    return (settings.backend, settings.endpoint, settings.model, settings.api_key)


def local_problem(settings: BackendSettings) -> str | None:
    """Why the chosen backend cannot run in this environment (the missing extra), if it cannot."""
    if settings.backend != "transformers":
        return None
    from lsp_server.model.backends.transformers import missing_extra

    return missing_extra()


__all__ = ["Backend", "BackendSettings", "backend_key", "create_backend", "local_problem"]
