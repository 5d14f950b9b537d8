"""d2lx's own errors, raised while a Keras layer runs, reach the learner as d2lx wrote them.

Keras 3 rewrites every exception that escapes a layer's ``call``: it raises a new exception of the same type
whose message reads "Exception encountered when calling PositionalEncoding.call().", then the original
sentence between terminal bold codes, then the call's arguments. For an error from deep inside TensorFlow that
context helps. d2lx's own messages about a learner's argument already name the argument, what was expected and
what came in, and read the same on every backend; Keras's frame would make the TensorFlow one the odd one out.

Keras leaves alone an exception that carries the marker it sets on those it has already rewritten (so that a
layer inside a layer does not rewrite twice). ``KeepsOwnErrors`` wraps the ``call`` of each d2lx layer so that
an exception raised by d2lx's code (the innermost frame of its traceback is in the ``d2lx`` package) carries
that marker; anything TensorFlow or Keras raised, even inside a d2lx layer, keeps Keras's context.
"""

from __future__ import annotations

import functools

# The attribute by which Keras 3 recognises an exception it has already rewritten
# (keras/src/utils/traceback_utils.py, ``inject_argument_info_in_traceback``).
KERAS_REWRITTEN = "_keras_call_info_injected"


def raised_by_d2lx(error: BaseException) -> bool:
    """Whether ``error`` was raised by d2lx's own code: the innermost frame of its traceback is in d2lx."""
    frames = error.__traceback__
    if frames is None:
        return False
    while frames.tb_next is not None:
        frames = frames.tb_next
    module = frames.tb_frame.f_globals.get("__name__", "")
    return module == "d2lx" or module.startswith("d2lx.")


def keeping_own_errors(call):
    """``call``, with d2lx's own exceptions marked so that Keras raises them unchanged."""

    @functools.wraps(call)  # Keras reads the signature (``training``, ``mask``) through ``__wrapped__``
    def call_keeping_own_errors(self, *args, **kwargs):
        try:
            return call(self, *args, **kwargs)
        except Exception as error:
            if raised_by_d2lx(error):
                setattr(error, KERAS_REWRITTEN, True)
            raise

    return call_keeping_own_errors


class KeepsOwnErrors:
    """A mixin for d2lx's Keras layers: the ``call`` each d2lx class defines keeps d2lx's messages.

    Only classes defined in d2lx are wrapped. A learner's subclass that defines its own ``call`` keeps Keras's
    behaviour for its own code, and d2lx layers it calls still raise d2lx's messages unchanged."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        call = cls.__dict__.get("call")
        if call is not None and cls.__module__.startswith("d2lx."):
            cls.call = keeping_own_errors(call)
