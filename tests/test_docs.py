"""The docstring examples run and print what they say."""

import doctest

import pytest

import fastgmm._estimator


@pytest.mark.parametrize("module", [fastgmm._estimator])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
