"""The Symmetry Lab's claims, each checked at one point of its range (see [[claims]] in level.toml).

Each check builds the station from its seed, size and dtype, applies the transformation several
times, and asserts the errors the level shows; where a statement says where an error lives (zero
padding: at the edges) or what it is not (equivariant is not unchanged), that is measured too.
"""

from __future__ import annotations

import numpy as np

from .stations import TOLERANCE, evaluate, make_station


def _errors(station, ks):
    outs = [m.f(station.x) for m in station.models]
    return {k: evaluate(station, k, outs) for k in ks}


def check_circular_exact_zero_pad_edges(seed: int, size: int, dtype: str) -> dict:
    tol = TOLERANCE[dtype]
    worst_circ, zero_errors, interior = 0.0, [], 0.0
    for s in (1, 2, 3, 5):
        station = make_station("Grids", seed, dtype, size=size, shift_px=s)
        circ, zero = evaluate(station, 1)[:2]
        assert circ.error <= tol, f"circular padding, shift {s}: error {circ.error:.2g} above rounding"
        assert 1e-3 < zero.error < 0.5, f"zero padding, shift {s}: error {zero.error:.2g}"
        worst_circ = max(worst_circ, circ.error)
        zero_errors.append(zero.error)
        # where the zero-padding error lives: two layers of 3×3 reach 2 pixels from an edge,
        # and the shift moves the picture's wrapped columns by s
        diff = np.abs(np.asarray(zero.moved, np.float64) - np.asarray(zero.expected, np.float64))
        cols = np.ones(size, bool)
        for edge in (0, s % size):  # the picture's own edge, and where its old edge went
            for d in range(-2, 2):
                cols[(edge + d) % size] = False
        rows = slice(2, size - 2)
        inner = float(np.max(diff[rows][:, cols])) / float(np.max(np.abs(zero.out)))
        assert inner <= tol, f"zero padding, shift {s}: error {inner:.2g} away from the edges"
        interior = max(interior, inner)
    return {"circular: largest error": float(f"{worst_circ:.2g}"),
            "zero padding: errors": [float(f"{e:.2g}") for e in zero_errors],
            "zero padding: largest error away from the edges": float(f"{interior:.2g}")}


def check_stride_even_only(seed: int, size: int, dtype: str) -> dict:
    tol = TOLERANCE[dtype]
    odd = []
    for s in (1, 2, 3, 4):
        station = make_station("Grids", seed, dtype, size=size, shift_px=s)
        stride, pool = evaluate(station, 1)[2:]
        assert pool.unchanged <= tol, f"global pooling changed by {pool.unchanged:.2g} under a shift by {s}"
        if s % 2 == 0:
            assert stride.error <= tol, f"stride 2, even shift {s}: error {stride.error:.2g}"
            assert stride.unchanged > 1e-2, "an even shift moved the output"
        else:
            assert stride.error > 0.1, f"stride 2, odd shift {s}: the nearest shift comes within {stride.error:.2g}"
            odd.append(stride.error)
    return {"odd shifts: error to the nearest shift": [float(f"{e:.3g}") for e in odd]}


def check_p4_exact_for_right_angles(seed: int, size: int, dtype: str) -> dict:
    tol = TOLERANCE[dtype]
    out = {}
    for degrees in (90.0, 180.0, 270.0):
        p4, cnn, p4_pool, _ = evaluate(make_station("Groups", seed, dtype, size=size, degrees=degrees), 1)
        assert p4.error <= tol and p4_pool.error <= tol, f"{degrees}°: p4 errs by {p4.error:.2g}, pooled {p4_pool.error:.2g}"
        assert cnn.error > 0.1, f"{degrees}°: the plain CNN errs only {cnn.error:.2g}"
        assert p4.unchanged > 1e-2, "the p4 output did not move"
        out[f"{degrees:g}°: plain CNN"] = float(f"{cnn.error:.3g}")
    for degrees in (45.0, 30.0):
        station = make_station("Groups", seed, dtype, size=size, degrees=degrees)
        p4, cnn, _, _ = evaluate(station, 1)
        loss = station.extra["round_trip"]()
        assert p4.error > 1e-3 and cnn.error > 1e-3, f"{degrees}°: p4 {p4.error:.2g}, CNN {cnn.error:.2g}"
        assert 0.1 < loss < 0.3, f"{degrees}°: turning and turning back changes the picture by {loss:.2g}"
        assert p4.error > 0.5 * loss and cnn.error > 0.5 * loss, "an error far below the interpolation's own loss"
        out[f"{degrees:g}°: p4, plain CNN, turn and back"] = [float(f"{e:.3g}") for e in (p4.error, cnn.error, loss)]
    assert make_station("Groups", seed, dtype, size=size, degrees=90.0).extra["round_trip"]() == 0.0
    # two 45° turns make 90°: exact again
    p4 = evaluate(make_station("Groups", seed, dtype, size=size, degrees=45.0), 2)[0]
    assert p4.error <= tol, f"45° twice: p4 errs by {p4.error:.2g}"
    return out


def check_graph_models(seed: int, nodes: int, dtype: str) -> dict:
    tol = TOLERANCE[dtype]
    station = make_station("Graphs", seed, dtype, nodes=nodes)
    broken = []
    for k, results in _errors(station, (1, 2, 5)).items():
        mp, readout, attn, attn_pos = results
        for o in (mp, readout, attn):
            assert o.error <= tol, f"k = {k}: {o.model.name} errs by {o.error:.2g}"
        assert readout.unchanged <= tol
        assert mp.unchanged > 1e-3 and attn.unchanged > 1e-3, "an equivariant output stayed unchanged"
        assert attn_pos.error > 1e-2, f"k = {k}: attention with positions errs only {attn_pos.error:.2g}"
        broken.append(attn_pos.error)
    return {"attention + positions: errors": [float(f"{e:.3g}") for e in broken]}


def check_bending_keeps_intrinsic(seed: int, size: int, dtype: str) -> dict:
    tol = TOLERANCE[dtype]
    bend = make_station("Geodesics", seed, dtype, size=size, deform="bend")
    moved = []
    for k, (geo, defect, straight, coords) in _errors(bend, (1, 2, 4)).items():
        assert geo.unchanged <= tol and defect.unchanged <= tol, \
            f"bend {k}: geodesic {geo.unchanged:.2g}, defect {defect.unchanged:.2g}"
        assert straight.unchanged > 1e-2, f"bend {k}: straight-line distances changed only {straight.unchanged:.2g}"
        assert coords.error > 1e-2, f"bend {k}: a rigid motion comes within {coords.error:.2g}"
        moved.append(straight.unchanged)
    rigid = make_station("Geodesics", seed, dtype, size=size, deform="rigid turn")
    for geo, defect, straight, coords in evaluate(rigid, 1), evaluate(rigid, 3):
        assert max(geo.unchanged, defect.unchanged, straight.unchanged) <= tol
        assert coords.error <= tol and coords.unchanged > 1e-2
    return {"bend: straight-line distances changed by": [float(f"{e:.3g}") for e in moved]}


def check_gauge_equivariance(seed: int, size: int, dtype: str) -> dict:
    tol = TOLERANCE[dtype]
    station = make_station("Gauges", seed, dtype, size=size)
    naive = []
    for k, (eq, no_transport, general, lengths) in _errors(station, (1, 2, 3)).items():
        assert eq.error <= tol and lengths.unchanged <= tol, f"k = {k}: {eq.error:.2g}, lengths {lengths.unchanged:.2g}"
        assert eq.unchanged > 1e-2, "the coefficients did not change"
        assert no_transport.error > 0.1 and general.error > 0.1, \
            f"k = {k}: no transport {no_transport.error:.2g}, general W {general.error:.2g}"
        naive.append((no_transport.error, general.error))
    return {"no transport, general W": [[float(f"{a:.3g}"), float(f"{b:.3g}")] for a, b in naive]}


def check_rounding_by_dtype(station: str) -> dict:
    exact = {"Grids": [0], "Groups": [0, 2], "Graphs": [0, 1, 2], "Gauges": [0, 3]}[station]
    worst = {}
    for dtype in ("float64", "float32"):
        errs = []
        for seed in (0, 1, 2):
            results = evaluate(make_station(station, seed, dtype), 1)
            errs += [results[i].error for i in exact]
        worst[dtype] = max(errs)
        assert worst[dtype] <= TOLERANCE[dtype], f"{station} {dtype}: {worst[dtype]:.2g}"
    assert worst["float32"] > worst["float64"], f"{station}: float32 {worst['float32']:.2g} ≤ float64 {worst['float64']:.2g}"
    assert worst["float32"] > 1e-9, f"{station}: float32 rounding only {worst['float32']:.2g}"
    return {k: float(f"{v:.2g}") for k, v in worst.items()}

