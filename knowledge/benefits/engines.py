"""Where simulations run: in this process (CLI, tests) or in worker processes (servers).

Both engines answer `estimate(household, variables)` with each variable's value, or None when
OpenFisca is not available yet (still warming up, not installed, too slow): the caller then
says "à vérifier", never a guess.

`PooledEngine` keeps simulations off the turn's hot path: worker processes load OpenFisca in
the background at start-up, and a small batcher groups the requests that arrive within a few
milliseconds into one vectorised simulation (OpenFisca computes 100 households for little
more than the price of one).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from multiprocessing import get_context
from typing import Protocol

from knowledge.benefits.simulator import Simulator, Variable
from knowledge.benefits.situation import Household, current_month

log = logging.getLogger(__name__)

Result = dict[str, float]
#: what the warm-up simulates: the RSA pulls in most of the model (resources, family benefits, housing)
WARM_VARIABLES = (Variable("rsa", "famille"), Variable("ppa", "famille"), Variable("aide_logement", "famille"))


class Engine(Protocol):
    def estimate(self, household: Household, variables: tuple[Variable, ...]) -> Result | None: ...

    @property
    def ready(self) -> bool: ...


class _Cache:
    """A small thread-safe LRU of recent answers per household and month (a conversation
    re-evaluates the same facts; one simulation answers every scheme of an orientation)."""

    def __init__(self, size: int = 512) -> None:
        self._items: OrderedDict[tuple[Household, str], Result] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, household: Household, variables: tuple[Variable, ...], period: str) -> Result | None:
        with self._lock:
            known = self._items.get((household, period))
            if known is None or any(v.name not in known for v in variables):
                return None
            self._items.move_to_end((household, period))
            return {v.name: known[v.name] for v in variables}

    def put(self, household: Household, period: str, value: Result) -> None:
        with self._lock:
            key = (household, period)
            self._items[key] = {**self._items.get(key, {}), **value}
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_shared: Simulator | None = None
_shared_lock = threading.Lock()


def shared_simulator() -> Simulator:
    """This process's simulator, loaded once (about 10 s)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Simulator()
        return _shared


class LocalEngine:
    """OpenFisca in this process, loaded on first use: for the CLI and the tests."""

    def __init__(self) -> None:
        self._cache = _Cache()

    @property
    def ready(self) -> bool:
        return True

    def simulator(self) -> Simulator:
        return shared_simulator()

    def estimate(self, household: Household, variables: tuple[Variable, ...]) -> Result | None:
        return self.estimate_many([household], variables)[0]

    def estimate_many(self, households: list[Household], variables: tuple[Variable, ...]) -> list[Result]:
        period = current_month()
        cached = [self._cache.get(h, variables, period) for h in households]
        todo = [h for h, c in zip(households, cached, strict=True) if c is None]
        computed = iter(self.simulator().run(todo, list(variables), period) if todo else [])
        out: list[Result] = []
        for household, hit in zip(households, cached, strict=True):
            if hit is None:
                hit = next(computed)
                self._cache.put(household, period, hit)
            out.append(hit)
        return out


# ---------------------------------------------------------------------- worker processes
_worker_simulator: Simulator | None = None


#: how often a worker checks that the process that started it is still there (seconds)
PARENT_CHECK_S = 2.0


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent died (a server killed, a test's subprocess ended) exits too: orphans
    of the clean-clone CI runs stayed for hours, 280 MB each."""
    while True:
        time.sleep(PARENT_CHECK_S)
        if os.getppid() != parent:
            os._exit(0)


def _worker_init(parent: int) -> None:
    """`parent`: the pid of the process that made the pool, given by it (a worker still starting when
    its parent is killed would otherwise take its new parent, init, for it)."""
    global _worker_simulator
    threading.Thread(target=_exit_with_parent, args=(parent,), name="parent-watch", daemon=True).start()
    _worker_simulator = Simulator()


def _worker_warm(variables: tuple[Variable, ...]) -> float:
    """A first simulation fills OpenFisca's caches (the first RSA costs several times the next)."""
    assert _worker_simulator is not None
    started = time.perf_counter()
    _worker_simulator.run([Household(age=30, situation="sans_activite")], list(variables))
    return _worker_simulator.load_seconds + time.perf_counter() - started


def _worker_run(households: list[Household], variables: tuple[Variable, ...], period: str) -> list[Result]:
    assert _worker_simulator is not None
    return _worker_simulator.run(households, list(variables), period)


class _Request:
    __slots__ = ("household", "variables", "future")

    def __init__(self, household: Household, variables: tuple[Variable, ...]) -> None:
        self.household = household
        self.variables = variables
        self.future: Future[Result] = Future()


class PooledEngine:
    """Worker processes + a batcher. `start()` returns at once; `ready` turns true after warm-up."""

    def __init__(
        self,
        workers: int = 1,
        window_ms: float = 5.0,
        max_batch: int = 200,
        timeout_s: float = 30.0,
        warm_variables: tuple[Variable, ...] = WARM_VARIABLES,
    ) -> None:
        self.workers = max(1, workers)
        self.window = window_ms / 1000
        self.max_batch = max_batch
        self.timeout = timeout_s
        self.warm_variables = warm_variables
        self.warm_seconds: float | None = None
        self.batches = 0
        self._pool: ProcessPoolExecutor | None = None
        self._ready = threading.Event()
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._cache = _Cache()
        self._thread: threading.Thread | None = None
        self._free_workers = threading.Semaphore(self.workers)

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def start(self) -> PooledEngine:
        if self._pool is not None:
            return self
        self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"), initializer=_worker_init,
                                         initargs=(os.getpid(),))
        started = time.perf_counter()
        warmups = [self._pool.submit(_worker_warm, self.warm_variables) for _ in range(self.workers)]

        def warmed(future: Future[float]) -> None:
            if future.exception() is not None:
                log.warning("OpenFisca indisponible : %s", future.exception())
                return
            if not self._ready.is_set():
                self.warm_seconds = time.perf_counter() - started
                log.info("OpenFisca prêt en %.1f s", self.warm_seconds)
                self._ready.set()

        for future in warmups:
            future.add_done_callback(warmed)
        self._thread = threading.Thread(target=self._batch_loop, name="openfisca-batcher", daemon=True)
        self._thread.start()
        return self

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._ready.clear()

    def submit(self, household: Household, variables: tuple[Variable, ...]) -> Future[Result]:
        """Queue one household; its future resolves when its batch has been simulated."""
        request = _Request(household, variables)
        self._queue.put(request)
        return request.future

    def estimate(self, household: Household, variables: tuple[Variable, ...]) -> Result | None:
        if not self.ready:
            return None
        period = current_month()
        hit = self._cache.get(household, variables, period)
        if hit is not None:
            return hit
        try:
            result = self.submit(household, variables).result(timeout=self.timeout)
        except (FutureTimeout, Exception) as exc:  # a failed or late simulation: "à vérifier"
            log.warning("simulation OpenFisca sans réponse : %r", exc)
            return None
        self._cache.put(household, period, result)
        return result

    # ------------------------------------------------------------------ batcher
    def _batch_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            # wait for a free worker: meanwhile the requests that arrive pile up into the next batch
            self._free_workers.acquire()
            batch = [first]
            deadline = time.perf_counter() + self.window
            while len(batch) < self.max_batch:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            self._dispatch(batch)

    def _dispatch(self, batch: list[_Request]) -> None:
        assert self._pool is not None
        variables = tuple(dict.fromkeys(v for r in batch for v in r.variables))
        households = [r.household for r in batch]
        self.batches += 1
        future = self._pool.submit(_worker_run, households, variables, current_month())

        def done(result: Future[list[Result]]) -> None:
            self._free_workers.release()
            error = result.exception()
            for n, request in enumerate(batch):
                if error is not None:
                    request.future.set_exception(error)
                else:
                    values = result.result()[n]
                    request.future.set_result({v.name: values.get(v.name, 0.0) for v in request.variables})

        future.add_done_callback(done)


# ---------------------------------------------------------------------- the process's engine
_engine: Engine | None = None
_engine_lock = threading.Lock()


def start_benefits(warm_variables: tuple[Variable, ...] = WARM_VARIABLES) -> Engine | None:
    """At server start-up: warm OpenFisca up in the background.

    AIGUILLAGE_OPENFISCA: pool (default: worker processes), local (this process), off;
    AIGUILLAGE_OPENFISCA_WORKERS (default 1); AIGUILLAGE_OPENFISCA_TIMEOUT (seconds, default 20).
    """
    global _engine
    mode = os.environ.get("AIGUILLAGE_OPENFISCA", "pool")
    with _engine_lock:
        if _engine is None and mode != "off":
            if mode == "local":
                _engine = LocalEngine()
            else:
                workers = int(os.environ.get("AIGUILLAGE_OPENFISCA_WORKERS", "1"))
                # past this wait the orientation says "à vérifier" rather than keep the person waiting
                timeout = float(os.environ.get("AIGUILLAGE_OPENFISCA_TIMEOUT", "20"))
                _engine = PooledEngine(workers=workers, timeout_s=timeout, warm_variables=warm_variables).start()
        return _engine


def current_benefits() -> Engine | None:
    """The engine started for this process, if any (None: OpenFisca schemes stay "à vérifier")."""
    return _engine


def set_benefits(engine: Engine | None) -> None:
    """Install an engine (tests, CLI)."""
    global _engine
    with _engine_lock:
        _engine = engine
