"""The Ollama backend: the same models served by an Ollama server (a GPU workstation).

Every call sends its context length explicitly (``num_ctx``: Ollama's own default is far
smaller and cuts long prompts silently), ``keep_alive``, the JSON schema as ``format``,
and streams. Usage and Ollama's own timings come from the final chunk. A server that is
down, or a model it does not have, is a :class:`BackendUnavailable` saying the exact
command that fixes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from localfactory.config import OllamaSettings
from localfactory.errors import BackendUnavailable, ModelNotFound, PromptTooLong
from localfactory.llm.backend import ChatBackend, Response
from localfactory.llm.call import ChatRequest
from localfactory.llm.registry import Register

if TYPE_CHECKING:
    import ollama

    from localfactory.models.manifest import Manifest

_NS = 1e-9


def _with_tag(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


class OllamaBackend(ChatBackend):
    name: ClassVar[str] = "ollama"
    supports_json_schema: ClassVar[bool] = True

    _client: ollama.Client | None = None
    _served_as: str | None = None

    @property
    def host(self) -> str:
        return self.settings.ollama.host

    def _manifest(self) -> Manifest | None:
        """The model's manifest, or None for a model known only to Ollama (``llama3:8b``)."""
        from localfactory.models import catalog

        try:
            return catalog.get_manifest(self.model, self.settings)
        except ModelNotFound:
            return None

    def num_ctx(self) -> int:
        """The context asked of Ollama: ``ollama.num_ctx`` when set, else the manifest's, else the default."""
        configured = self.settings.ollama.num_ctx
        manifest = self._manifest()
        if (
            configured == OllamaSettings.model_fields["num_ctx"].default
            and manifest is not None
            and manifest.ollama is not None
            and manifest.ollama.num_ctx
        ):
            return manifest.ollama.num_ctx
        return configured

    def client(self) -> ollama.Client:
        if self._client is None:
            import ollama

            self._client = ollama.Client(host=self.host, timeout=self.settings.ollama.timeout_s)
        return self._client

    def served_as(self) -> str:
        """The name Ollama knows this model by: the library tag, else the name ollama-import gives it."""
        if self._served_as is not None:
            return self._served_as
        manifest = self._manifest()
        serving = manifest.ollama if manifest is not None else None
        candidates = [serving.tag, serving.import_name] if serving else [self.model]
        try:
            listed = self.client().list()
        except Exception as exc:
            raise self._failure(exc) from None
        available = {_with_tag(m.model) for m in listed.models if m.model}
        for candidate in candidates:
            if candidate and _with_tag(candidate) in available:
                self._served_as = candidate
                return candidate
        raise self._model_missing(manifest)

    def _model_missing(self, manifest: Manifest | None) -> BackendUnavailable:
        serving = manifest.ollama if manifest is not None else None
        tag = serving.tag if serving else self.model
        hint = f"Run `ollama pull {tag}` on the machine that runs Ollama"
        if manifest is not None and manifest.embeddable and serving and serving.import_name:
            hint += f", or `localfactory models ollama-import {manifest.name}` to load the local GGUF without a download"
        return BackendUnavailable(
            f"The Ollama server at {self.host} does not have the model {tag}.", hint=hint + "."
        )

    def _failure(self, exc: BaseException) -> BackendUnavailable:
        """Turn what the client raised into one clear sentence."""
        import httpx
        import ollama

        if isinstance(exc, BackendUnavailable):
            return exc
        if isinstance(exc, ConnectionError | httpx.ConnectError | httpx.ConnectTimeout):
            return BackendUnavailable(
                f"Cannot reach the Ollama server at {self.host}.",
                hint="Start it with `ollama serve`, or point ollama.host in localfactory.toml at a running server.",
            )
        if isinstance(exc, httpx.TimeoutException):
            return BackendUnavailable(
                f"The Ollama server at {self.host} did not answer within {self.settings.ollama.timeout_s:g} s.",
                hint="Check the server's load, or raise ollama.timeout_s in localfactory.toml.",
            )
        if isinstance(exc, ollama.ResponseError):
            if exc.status_code == 404:
                return self._model_missing(self._manifest())
            return BackendUnavailable(
                f"The Ollama server at {self.host} failed the call: {exc.error}.",
                hint="See the server's log (`ollama serve` prints it).",
            )
        if isinstance(exc, httpx.HTTPError):
            return BackendUnavailable(
                f"The connection to the Ollama server at {self.host} broke: {exc}.",
                hint="Check that `ollama serve` is still running.",
            )
        raise exc

    def _request_options(self, request: ChatRequest, num_ctx: int) -> dict[str, Any]:
        opts = request.options
        options: dict[str, Any] = {
            "num_ctx": num_ctx,
            "num_predict": opts.max_tokens,
            "temperature": opts.temperature,
            "seed": opts.seed,
        }
        if opts.repeat_penalty != 1.0:
            options["repeat_penalty"] = opts.repeat_penalty
        if opts.stop:
            options["stop"] = list(opts.stop)
        return options

    def execute(self, request: ChatRequest, response: Response) -> Iterator[str]:
        model = self.served_as()
        num_ctx = self.num_ctx()
        final = None
        try:
            stream = self.client().chat(
                model=model,
                messages=[m.model_dump() for m in request.messages],
                stream=True,
                format=request.json_schema,
                options=self._request_options(request, num_ctx),
                keep_alive=self.settings.ollama.keep_alive,
            )
            for part in stream:
                if part.message.content:
                    yield part.message.content
                if part.done:
                    final = part
        except Exception as exc:
            raise self._failure(exc) from None
        if final is None:
            raise BackendUnavailable(
                f"The Ollama server at {self.host} ended the answer without its final report.",
                hint="Check that `ollama serve` is still running.",
            )
        prompt_tokens = final.prompt_eval_count or 0
        generated = final.eval_count or 0
        response.set_usage(prompt_tokens=prompt_tokens, generated_tokens=generated)
        response.set_finish_reason("length" if final.done_reason == "length" else "stop")
        response.details.update(
            ollama_model=model,
            num_ctx=num_ctx,
            load_s=(final.load_duration or 0) * _NS,
            prompt_eval_s=(final.prompt_eval_duration or 0) * _NS,
            eval_s=(final.eval_duration or 0) * _NS,
            server_total_s=(final.total_duration or 0) * _NS,
        )
        room = num_ctx - request.options.max_tokens
        if prompt_tokens > room:
            # Ollama cuts a prompt that does not fit instead of refusing it: say so.
            raise PromptTooLong(
                prompt_tokens, room, model=f"{self.model} on Ollama (num_ctx {num_ctx})"
            )


def register_backends(register: Register) -> None:
    register(OllamaBackend)
