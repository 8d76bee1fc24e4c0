"""Griffe extension for the API pages: runtime docstrings, and Sphinx roles as code.

* ``LSTMForecaster`` and ``GRUForecaster`` derive their docstring (``__doc__ = ...``)
  and their ``__init__`` signature (their base's ``__init__.__signature__``) from
  ``RNNForecaster`` at import time, which griffe's static analysis cannot see. For the classes listed
  in ``mkdocs.yml`` (``paths``) this extension imports the class and copies both onto
  the static model.
* The docstrings use Sphinx cross-reference roles (``:class:`~pkg.Name```), which
  Markdown shows verbatim: they become code spans (``Name``), and reST's ``text::``
  before a literal block becomes ``text:``; reST's ``\\ `` (an escaped space) goes.
"""

from __future__ import annotations

import inspect
import re

import griffe

_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: griffe.ParameterKind.positional_only,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: griffe.ParameterKind.positional_or_keyword,
    inspect.Parameter.VAR_POSITIONAL: griffe.ParameterKind.var_positional,
    inspect.Parameter.KEYWORD_ONLY: griffe.ParameterKind.keyword_only,
    inspect.Parameter.VAR_KEYWORD: griffe.ParameterKind.var_keyword,
}


# :class:`~a.b.C` -> `C`; :func:`a.b` -> `a.b`
_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`(~?)([^`]+)`")
# "text::" ending a paragraph before an indented literal block -> "text:"
_LITERAL = re.compile(r"(\S)::\n(\n[ \t]+\S)")


def _code(match: re.Match) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


def _markdown(text: str) -> str:
    text = _ROLE.sub(_code, text).replace("\\ ", "")  # reST's escaped space joins words
    return _LITERAL.sub(r"\1:\n\2", text)


def _text(value) -> str | None:
    if value is inspect.Parameter.empty:
        return None
    return value if isinstance(value, str) else inspect.formatannotation(value)


class RuntimeDocs(griffe.Extension):
    def __init__(self, paths: list[str]):
        self.paths = set(paths)

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _markdown(obj.docstring.value)

    def on_class_members(self, *, node, cls: griffe.Class, agent, **kwargs) -> None:
        if cls.path not in self.paths:
            return
        runtime = griffe.dynamic_import(cls.path)
        cls.docstring = griffe.Docstring(
            _markdown(inspect.cleandoc(runtime.__doc__)),
            parent=cls,
            parser=agent.docstring_parser,
            parser_options=agent.docstring_options,
        )
        init = cls.members.get("__init__")
        if not isinstance(init, griffe.Function):  # inherited from the base that fixes `cell`
            init = griffe.Function("__init__", lineno=cls.lineno, endlineno=cls.lineno)
            cls.set_member("__init__", init)
        init.parameters = griffe.Parameters(
            *(
                griffe.Parameter(
                    p.name,
                    annotation=_text(p.annotation),
                    kind=_KINDS[p.kind],
                    default=None if p.default is inspect.Parameter.empty else repr(p.default),
                )
                for p in inspect.signature(runtime.__init__).parameters.values()
            )
        )
