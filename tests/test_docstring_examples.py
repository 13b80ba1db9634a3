"""The examples in the public docstrings run and print what they say (numpydoc
``Examples`` sections are documentation users copy; a wrong one misleads)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import labkit.signal


def _modules_with_examples() -> list[str]:
    names = []
    for pkg in (labkit.signal,):
        for info in pkgutil.iter_modules(pkg.__path__, prefix=f"{pkg.__name__}."):
            names.append(info.name)
    names += ["labkit.trials.formats", "labkit.trials.catalogue"]
    return sorted(names)


@pytest.mark.parametrize("name", _modules_with_examples())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS,
                             verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
