"""The docstring examples run and print what they say."""

import doctest

import pytest

import fastgmm._bayesian
import fastgmm._estimator
import fastgmm._patch


@pytest.mark.parametrize("module", [fastgmm._estimator, fastgmm._bayesian, fastgmm._patch])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
