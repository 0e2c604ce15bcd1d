"""The project's own tests of its model specification (infra-2)."""

import numpy as np
import pytest


@pytest.mark.rubric("infra-2")
def test_the_classifier_reads_every_term_the_vectorizer_writes(ml_model):
    vectorizer, classifier = ml_model.transform, ml_model.estimator
    assert classifier.coef_.shape[1] == len(vectorizer.vocabulary_)
    assert list(classifier.classes_) == ["Android", "iPhone"]


@pytest.mark.rubric("infra-2")
def test_any_text_gets_a_valid_probability(ml_model):
    import pandas as pd

    odd = pd.DataFrame({"text": ["", "   ", "!!!", "https://t.co/x", "é" * 300, "Crooked"]})
    proba = ml_model.predict_proba(odd)
    assert proba.shape == (6, 2)
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1.0)
