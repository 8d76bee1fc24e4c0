"""scikit-learn's parameter protocol on top of Darts' recorded ``model_params``.

Darts captures every constructor argument (the signature's defaults plus the keyword
arguments passed) in ``model.model_params`` and rebuilds models from it
(``untrained_model()``). scikit-learn expects ``get_params``/``set_params`` and
``sklearn.base.clone``; all three are expressed through that one record, by the
functions below, which :class:`~rnn_forecast.adapter.forecaster.RNNForecaster`'s methods of
the same names call.
"""

from __future__ import annotations


def get_params(model, deep: bool = True) -> dict:
    """``model``'s constructor parameters, as stored (see ``RNNForecaster.get_params``)."""
    return dict(model.model_params)


def set_params(model, **params):
    """Rebuild ``model`` unfitted with merged parameters (see ``RNNForecaster.set_params``)."""
    if not params:
        return model
    model._validate_model_params(**params)
    rebuilt = type(model)(**{**model.model_params, **params})
    # Darts' ModelMeta records parameters only when the class is called, so adopt
    # the state of a freshly constructed model rather than re-running __init__.
    model.__dict__.clear()
    model.__dict__.update(rebuilt.__dict__)
    return model


def sklearn_clone(model):
    """An unfitted model with deep copies of the same parameters (``sklearn.base.clone``)."""
    return model.untrained_model()
