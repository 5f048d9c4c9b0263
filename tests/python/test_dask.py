"""Tests shipping modules and instance factories to dask.distributed worker processes (LocalCluster)."""

import os

import pytest

import _procs
import wasmffi
from conftest import require_module
from wasmffi import _cache


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """Two single-threaded worker processes; they inherit WASMFFI_CACHE_DIR from this process."""
    distributed = require_module("distributed")
    old = os.environ.get("WASMFFI_CACHE_DIR")
    os.environ["WASMFFI_CACHE_DIR"] = str(tmp_path_factory.mktemp("dask-cache"))
    _cache.reset()
    try:
        with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                      dashboard_address=None, worker_dashboard_address=None,
                                      silence_logs=40) as cluster, distributed.Client(cluster) as c:
            yield c
    finally:
        if old is None:
            os.environ.pop("WASMFFI_CACHE_DIR", None)
        else:
            os.environ["WASMFFI_CACHE_DIR"] = old
        _cache.reset()


def test_dask_workers_run_a_shipped_module(client):
    m = wasmffi.Module(_procs.ADD_WAT)
    futures = client.map(_procs.call_add, [m] * 8, range(8), [1000] * 8, pure=False)
    results = client.gather(futures)
    assert [r for r, _, _ in results] == [1000 + i for i in range(8)]
    pids = {pid for _, pid, _ in results}
    assert os.getpid() not in pids
    assert pids <= set(client.run(os.getpid).values())
    for _, _, stats in results:  # same user and cache dir: artifacts verified, nothing compiled
        assert stats["unpickle_compiled"] == 0


def test_dask_workers_run_a_scattered_factory(client):
    f = wasmffi.Module(_procs.TWICE_WAT).factory(imports={"env": {"twice": _procs.twice}})
    [remote] = client.scatter([f], broadcast=True)
    futures = client.map(_procs.call_quad, [remote] * 6, range(6), pure=False)
    assert [q for q, _ in client.gather(futures)] == [4 * i for i in range(6)]


def test_dask_reports_an_unpicklable_factory(client):
    f = wasmffi.Module(_procs.TWICE_WAT).factory(imports={"env": {"twice": lambda x: x}})
    with pytest.raises(Exception) as info:
        client.submit(_procs.call_quad, f, 1).result(timeout=30)
    # Dask wraps the pickling error in its own; ours, naming the import, is in the chain.
    chain, e = [], info.value
    while e is not None:
        chain.append(str(e))
        e = e.__cause__ or e.__context__
    assert any("imports['env']['twice'] is not picklable" in text for text in chain), chain
