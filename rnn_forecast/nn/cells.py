"""The registry of recurrent cells: everything else reads the cells from here.

A cell is a name (``RNNForecaster(cell=name)``), the ``torch.nn`` module that is the
reference implementation (and the cuDNN path on GPU), the layout of its state, and
optionally a fused CPU kernel for one layer (:mod:`rnn_forecast.nn.recurrence`). The
:class:`Cell` owns its state: how many parts it has, which one is the output ``h``,
and how to map or shift it; the network reads the state only through it. Adding a
cell is one :func:`register_cell` call::

    register_cell(Cell("rnn", torch.nn.RNN, state="h", display="RNN"))

A cell with a state of more parts, such as an sLSTM's ``(h, c, n, m)``, is a
``torch_class`` whose ``forward(x, state)`` takes and returns that tuple, registered
with ``state="hcnm"`` (``tests/cells/slstm.py`` is one).

The backend choice (fused kernel or ``torch.nn``) lives in :mod:`rnn_forecast.nn.backend`.
A saved model records its cell's name only: a process loading a model with a cell of
its own registers that cell first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import torch
import torch.nn as nn

from rnn_forecast.nn.recurrence import gru_layer, lstm_layer


@dataclass(frozen=True)
class Cell:
    """One recurrent cell.

    Attributes
    ----------
    name
        The ``cell=`` value, lower case (``"lstm"``).
    torch_class
        A ``torch.nn.Module`` class with ``torch.nn.LSTM``'s conventions: built as
        ``(input_size, hidden_size, num_layers=, dropout=, batch_first=)``, called as
        ``(x, state) -> (output, state)``, with ``hidden_size`` and ``num_layers``
        attributes (the built-in cells are ``torch.nn.RNNBase`` subclasses); its
        parameters are the model's.
    state
        One letter per part of the module's state, the output ``h`` first: ``"h"``, one
        tensor ``h (layers, B, H)`` (GRU, RNN); ``"hc"``, a pair ``(h, c)`` of such
        tensors (LSTM); ``"hcnm"``, four (an sLSTM). A state of one part is the tensor
        itself, of several a tuple in this order, as ``torch.nn`` does.
    fused
        ``None``, or the fused kernel of one layer: ``fused(x, w_ih, w_hh, b_ih, b_hh,
        state, trainable) -> (output, last)`` with ``x (B, T, D)``, the layer's
        parameters as ``torch_class`` names them, ``state`` a tuple of ``(B, H)``
        tensors in the order of :attr:`state` and ``trainable`` whether backward may
        follow; ``output (B, T, H)``, ``last`` a tuple like ``state`` at the last step.
        It must compute what ``torch_class`` computes.
    fused_training
        Whether ``rnn_backend="auto"`` runs the fused kernel for calls that need
        gradients (training) too. ``False`` where ``torch.nn``'s own CPU kernel trains
        faster: the LSTM, whose oneDNN kernel trained 1-25 % faster than our fused one in
        every measurement at lookbacks 336 and 720 and on the point-wise design
        (docs/speed.md, ``benchmarks/backend_ab.py``). Inference uses the fused kernel
        either way.
    display
        The name in prose and tables (``"LSTM"``); defaults to ``name.upper()``.
    """

    name: str
    torch_class: type[nn.Module]
    state: str = "h"
    fused: Callable | None = None
    fused_training: bool = True
    display: str = ""

    def __post_init__(self):
        if not (self.state.isalpha() and self.state.startswith("h") and len(set(self.state)) == len(self.state)):
            raise ValueError(
                f"`state` names the parts of the cell's state, one letter each, the output `h` first "
                f"(\"h\", \"hc\", \"hcnm\"), got {self.state!r}."
            )
        if not self.display:
            object.__setattr__(self, "display", self.name.upper())

    # -- the state: one tensor, or a tuple of ``len(state)`` tensors ``(layers, B, H)`` --

    @property
    def n_parts(self) -> int:
        """How many tensors the state has."""
        return len(self.state)

    def parts(self, state) -> tuple[torch.Tensor, ...]:
        """``state`` as a tuple of its parts, in the order of :attr:`state`."""
        return state if isinstance(state, tuple) else (state,)

    def pack(self, parts: Iterable[torch.Tensor]):
        """The state made of ``parts``: a tuple, or the tensor itself for a state of one part."""
        parts = tuple(parts)
        return parts if self.n_parts > 1 else parts[0]

    def output(self, state) -> torch.Tensor:
        """The output part ``h (layers, B, H)`` of ``state``."""
        return self.parts(state)[0]

    def map_state(self, state, fn: Callable[[torch.Tensor], torch.Tensor]):
        """``fn`` applied to every part of ``state`` (e.g. to repeat each unit's state)."""
        return self.pack(fn(part) for part in self.parts(state))

    def shift_output(self, state, shift: torch.Tensor):
        """``state`` with ``shift`` added to its output part ``h``, the other parts as they are."""
        h, *rest = self.parts(state)
        return self.pack((h + shift, *rest))


class UnknownCellError(ValueError):
    """A cell name that is not registered in this process."""


#: name -> :class:`Cell`, in registration order (the built-in ones first).
CELLS: dict[str, Cell] = {}


def register_cell(cell: Cell) -> Cell:
    """Add ``cell`` to :data:`CELLS` (an error if its name is taken) and return it."""
    if cell.name in CELLS:
        raise ValueError(f"A cell named {cell.name!r} is already registered.")
    CELLS[cell.name] = cell
    return cell


def unregister_cell(name: str) -> None:
    """Remove a cell registered with :func:`register_cell`."""
    del CELLS[name]


@contextlib.contextmanager
def registered(cell: Cell):
    """Register ``cell`` inside a ``with`` block only (a test's cell, an experiment's)."""
    register_cell(cell)
    try:
        yield cell
    finally:
        unregister_cell(cell.name)


def get_cell(name: str) -> Cell:
    """The registered cell called ``name``.

    Raises
    ------
    UnknownCellError
        Naming the registered cells, and how to register another.
    """
    try:
        return CELLS[name]
    except (KeyError, TypeError):
        raise UnknownCellError(
            f"`cell` must be one of {tuple(CELLS)}, got {name!r}: a cell of your own must be "
            "registered first, with rnn_forecast.nn.cells.register_cell(Cell(...)), in every "
            "process that builds or loads a model using it."
        ) from None


def cell_of(rnn: nn.Module) -> Cell | None:
    """The registered cell whose ``torch_class`` ``rnn`` is an instance of, else ``None``."""
    return next((c for c in CELLS.values() if type(rnn) is c.torch_class), None)


def cell_names() -> tuple[str, ...]:
    """The registered cell names, built-in ones first."""
    return tuple(CELLS)


class _TorchClasses(Mapping):
    """``name -> torch_class`` of the registered cells, a live view of :data:`CELLS`."""

    def __getitem__(self, name: str) -> type[nn.Module]:
        return CELLS[name].torch_class

    def __iter__(self) -> Iterator[str]:
        return iter(CELLS)

    def __len__(self) -> int:
        return len(CELLS)

    def __repr__(self) -> str:
        return repr(dict(self))


TORCH_CLASSES: Mapping[str, type[nn.Module]] = _TorchClasses()


register_cell(Cell("lstm", nn.LSTM, state="hc", fused=lstm_layer, fused_training=False, display="LSTM"))
register_cell(Cell("gru", nn.GRU, state="h", fused=gru_layer, display="GRU"))
