"""scikit-learn's parameter protocol on top of Darts' recorded ``model_params``.

Darts captures every constructor argument (the signature's defaults plus the keyword
arguments passed) in ``model.model_params`` and rebuilds models from it
(``untrained_model()``). scikit-learn expects ``get_params``/``set_params`` and
``sklearn.base.clone``; all three are expressed through that one record.
"""

from __future__ import annotations


class SklearnParamsMixin:
    """Adds ``get_params``, ``set_params`` and ``__sklearn_clone__`` to a Darts model."""

    def get_params(self, deep: bool = True) -> dict:
        """Constructor parameters: the signature's (with defaults) and any keyword passed.

        ``type(model)(**model.get_params())`` builds an equal, unfitted model. ``deep`` is
        accepted for scikit-learn compatibility; parameters are returned as stored.
        """
        return dict(self.model_params)

    def set_params(self, **params):
        """Change constructor parameters; returns ``self``, now an unfitted model.

        The model is rebuilt from the merged parameters, as Darts derives its trainer
        and network settings from them at construction; any fitted network is dropped
        (as with scikit-learn, set parameters before ``fit``).

        Raises
        ------
        ValueError
            If a name is not a parameter of this model.
        """
        if not params:
            return self
        self._validate_model_params(**params)
        rebuilt = type(self)(**{**self.model_params, **params})
        # Darts' ModelMeta records parameters only when the class is called, so adopt
        # the state of a freshly constructed model rather than re-running __init__.
        self.__dict__.clear()
        self.__dict__.update(rebuilt.__dict__)
        return self

    def __sklearn_clone__(self):
        """An unfitted model with deep copies of the same parameters (``sklearn.base.clone``)."""
        return self.untrained_model()
