"""Progress reporting: what the EM driver tells about a fit as it runs.

A reporter has five calls, made by the driver: ``init_begin(init)``,
``iterations_begin()``, ``iteration_end(n_iter, change, lower_bound)``,
``init_end(lower_bound, converged)`` and ``degenerate(event)`` (a
degenerate component and what the ``on_degenerate`` policy did); and two
made while the kernels for a covariance type and dtype compile on first use
(see ``_warmup``):
``compile_begin(what)``, from a timer thread while the compilation runs, and
``compile_end(seconds)``.  The estimator's default is
:class:`VerboseReporter` (scikit-learn's ``verbose`` output); a caller that
wants its own (the command line's progress line) sets a factory for the
fits it runs with :func:`reporting`, without subclassing the estimator.
"""

import sys
import time
from contextlib import contextmanager
from contextvars import ContextVar

_factory = ContextVar("fastgmm_reporter_factory", default=None)


@contextmanager
def reporting(factory):
    """Within the block, fits report to ``factory(estimator)``."""
    token = _factory.set(factory)
    try:
        yield
    finally:
        _factory.reset(token)


def make_reporter(estimator):
    """The reporter for a fit of ``estimator``."""
    factory = _factory.get()
    if factory is not None:
        return factory(estimator)
    return VerboseReporter(estimator.verbose, estimator.verbose_interval)


class VerboseReporter:
    """scikit-learn's verbose messages, word for word."""

    def __init__(self, verbose, verbose_interval):
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    def compile_begin(self, what):
        if self.verbose >= 1:
            print(f"compiling kernels for {what}, first use only", flush=True)

    def compile_end(self, seconds):
        if self.verbose >= 1:
            print(f"kernels compiled in {seconds:.2f} s")

    def init_begin(self, n_init):
        if self.verbose >= 1:
            print("Initialization %d" % n_init)
        self._init_prev_time = self._iter_prev_time = time.time()

    def iterations_begin(self):
        pass  # sklearn's first "time lapse" includes the initialisation

    def iteration_end(self, n_iter, diff_ll, lower_bound):
        if n_iter % self.verbose_interval == 0:
            if self.verbose == 1:
                print("  Iteration %d" % n_iter)
            elif self.verbose >= 2:
                cur_time = time.time()
                print(
                    "  Iteration %d\t time lapse %.5fs\t ll change %.5f"
                    % (n_iter, cur_time - self._iter_prev_time, diff_ll)
                )
                self._iter_prev_time = cur_time

    def degenerate(self, event):
        if self.verbose >= 1:
            print(f"  {event}")

    def init_end(self, lower_bound, converged):
        converged_msg = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {converged_msg}.")
        elif self.verbose >= 2:
            t = time.time() - self._init_prev_time
            print(
                f"Initialization {converged_msg}. time lapse {t:.5f}s\t lower bound"
                f" {lower_bound:.5f}."
            )


class CompileReporter:
    """Only the compile messages (commands that predict or score)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def compile_begin(self, what):
        self.stream.write(f"compiling kernels for {what}, first use only\n")
        self.stream.flush()

    def compile_end(self, seconds):
        self.stream.write(f"kernels compiled in {seconds:.2f} s\n")
        self.stream.flush()

    def init_begin(self, n_init):
        pass

    def iterations_begin(self):
        pass

    def iteration_end(self, n_iter, diff_ll, lower_bound):
        pass

    def degenerate(self, event):
        pass

    def init_end(self, lower_bound, converged):
        pass


class ProgressReporter(CompileReporter):
    """One line per EM iteration: rewritten in place on a terminal (cut to
    its width, the rest of the old line cleared), one line each otherwise."""

    def __init__(self, stream=None, n_init=1, init_params=None):
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.n_init = n_init
        self.init_params = init_params
        self.shown = 0  # characters of the line on screen

    def _line(self, line):
        if self.tty:
            self._rewrite(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def init_begin(self, n_init):
        self.init = n_init
        self.tic = self.last = time.perf_counter()
        # an initialisation of a large file takes seconds: say what runs
        what = f" ({self.init_params})" if self.init_params else ""
        self._line(f"init {self.init + 1}/{self.n_init}  initialising{what}")

    def iterations_begin(self):
        self.last = time.perf_counter()  # time the iterations, not the init
        self._line(
            f"init {self.init + 1}/{self.n_init}  initialised in {self.last - self.tic:.2f} s"
        )

    def _rewrite(self, line):
        import shutil

        width = max(20, shutil.get_terminal_size().columns - 1)
        line = line[:width]
        self.stream.write("\r" + line + " " * max(0, self.shown - len(line)))
        self.shown = len(line)

    def iteration_end(self, n_iter, diff_ll, lower_bound):
        now = time.perf_counter()
        line = (
            f"init {self.init + 1}/{self.n_init}  iter {n_iter:4d}  "
            f"lower bound {lower_bound: .6f}  change {diff_ll: .3e}  "
            f"{now - self.last:.3f} s/iter"
        )
        self.last = now
        self._line(line)

    def degenerate(self, event):
        if self.tty and self.shown:
            self.stream.write("\n")
            self.shown = 0
        self.stream.write(f"init {self.init + 1}/{self.n_init}  {event}\n")
        self.stream.flush()

    def init_end(self, lower_bound, converged):
        if self.tty and self.shown:
            self.stream.write("\n")
            self.shown = 0
        state = "converged" if converged else "did not converge"
        self.stream.write(
            f"init {self.init + 1}/{self.n_init} {state} in "
            f"{time.perf_counter() - self.tic:.2f} s, lower bound {lower_bound:.6f}\n"
        )
        self.stream.flush()
