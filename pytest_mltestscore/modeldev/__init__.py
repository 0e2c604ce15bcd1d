"""Model-development checks (rubric items model-2 to model-7, data-2 and data-3).

Pure functions over a model (anything with ``predict``, and ``predict_proba`` for probability
metrics), pandas frames and keyword thresholds; each returns a
:class:`~pytest_mltestscore.result.CheckResult`. One module per item; scikit-learn is never
required (baselines are fitted with numpy and scipy).
"""

from __future__ import annotations

from .baseline import simpler_model_not_better
from .features import feature_cost, features_beneficial
from .inclusion import inclusion
from .online import DegradationLadder, degradation_ladder, offline_online_correlation
from .slices import slice_masks, slice_quality
from .staleness import staleness_curve
from .tuning import hyperparameters_tuned

__all__ = [
    "DegradationLadder",
    "degradation_ladder",
    "feature_cost",
    "features_beneficial",
    "hyperparameters_tuned",
    "inclusion",
    "offline_online_correlation",
    "simpler_model_not_better",
    "slice_masks",
    "slice_quality",
    "staleness_curve",
]
