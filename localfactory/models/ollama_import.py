"""Serving a verified local GGUF with Ollama, without downloading it again.

``localfactory models ollama-import NAME`` writes a Modelfile next to the GGUF (the file,
the context length, ChatML's stop tokens and template) and, when an Ollama server answers
at ``ollama.host``, uploads the GGUF as a blob and creates the model there with the
official ``ollama`` client. Without a server it says so and prints the one command to run
on the workstation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from localfactory.errors import BackendUnavailable, UserError
from localfactory.models import catalog
from localfactory.models.manifest import Manifest
from localfactory.models.progress import InstallProgress, SilentProgress, human_size
from localfactory.models.upkeep import modelfile_path

if TYPE_CHECKING:
    from localfactory.config import Settings

CHATML_STOPS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>")

# Go text/template, as Ollama reads it. System messages arrive in .System (and again in
# .Messages, where they are skipped); the prompt ends with an open assistant turn.
CHATML_TEMPLATE = """{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}
{{- range .Messages }}
{{- if ne .Role "system" }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}
{{- end }}<|im_start|>assistant
"""

PROBE_TIMEOUT_S = 3.0
"""Seconds to wait for a sign of life from the Ollama server before saying it is unreachable."""


@dataclass(frozen=True)
class OllamaImport:
    model: str
    ollama_name: str
    modelfile: Path
    created: bool
    """True when the model was created on the server; False when no server answered."""

    host: str


def ollama_name(manifest: Manifest) -> str:
    if manifest.ollama and manifest.ollama.import_name:
        return manifest.ollama.import_name
    return f"localfactory-{manifest.name}"


def context_length(manifest: Manifest) -> int:
    if manifest.ollama and manifest.ollama.num_ctx:
        return manifest.ollama.num_ctx
    return manifest.default_context


def render_modelfile(manifest: Manifest, gguf: Path) -> str:
    lines = [
        f"# Ollama Modelfile for {manifest.display_name} ({manifest.quantization}), "
        "written by `localfactory models ollama-import`.",
        f"FROM {gguf}",
        f"PARAMETER num_ctx {context_length(manifest)}",
        *(f'PARAMETER stop "{stop}"' for stop in CHATML_STOPS),
        f'TEMPLATE """{CHATML_TEMPLATE}"""',
    ]
    return "\n".join(lines) + "\n"


def write_modelfile(manifest: Manifest, settings: Settings) -> Path:
    """Write the Modelfile of an installed, verified model next to its GGUF."""
    if manifest.chat_template != "chatml":
        raise UserError(
            f"{manifest.name} uses the {manifest.chat_template!r} chat format, and ollama-import "
            "only writes ChatML Modelfiles.",
            hint="Write a Modelfile for it by hand (`FROM` the GGUF that `localfactory models "
            f"path {manifest.name}` prints).",
        )
    gguf = catalog.installed_gguf(manifest.name, settings)
    path = modelfile_path(manifest, settings)
    path.write_text(render_modelfile(manifest, gguf.resolve()))
    return path


def _reachable(host: str) -> bool:
    import httpx
    import ollama

    try:
        ollama.Client(host=host, timeout=PROBE_TIMEOUT_S).list()
    except (ConnectionError, httpx.HTTPError, ollama.ResponseError):
        return False
    return True


def ollama_import(
    manifest: Manifest, settings: Settings, *, progress: InstallProgress | None = None
) -> OllamaImport:
    """Write the Modelfile and, where an Ollama server answers, create the model there."""
    progress = progress or SilentProgress()
    modelfile = write_modelfile(manifest, settings)
    gguf = catalog.installed_gguf(manifest.name, settings)
    name = ollama_name(manifest)
    host = settings.ollama.host
    if not _reachable(host):
        return OllamaImport(manifest.name, name, modelfile, False, host)

    import httpx
    import ollama

    client = ollama.Client(host=host, timeout=settings.ollama.timeout_s)
    size = human_size(gguf.stat().st_size)
    try:
        progress.note(f"Uploading {gguf.name} ({size}) to the Ollama server at {host}.")
        digest = client.create_blob(gguf)
        progress.note(f"Creating {name} on the Ollama server.")
        client.create(
            model=name,
            files={gguf.name: digest},
            parameters={"num_ctx": context_length(manifest), "stop": list(CHATML_STOPS)},
            template=CHATML_TEMPLATE,
            stream=False,
        )
    except ollama.ResponseError as exc:
        raise BackendUnavailable(
            f"The Ollama server at {host} refused to create {name}: {exc.error}.",
            hint=f"Run `ollama create {name} -f {modelfile}` on the server's machine instead.",
        ) from None
    except (ConnectionError, httpx.HTTPError) as exc:
        raise BackendUnavailable(
            f"Lost the connection to the Ollama server at {host} while creating {name} ({exc}).",
            hint=f"Try again, or run `ollama create {name} -f {modelfile}` on the server's machine.",
        ) from None
    return OllamaImport(manifest.name, name, modelfile, True, host)
