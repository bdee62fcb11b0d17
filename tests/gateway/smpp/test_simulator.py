"""The SMSC simulator starts on a port nobody else holds, even when tests run side by side."""

from __future__ import annotations

import socket

import pytest

from gateway.smpp import simulator
from gateway.smpp.simulator import Simulator, SimulatorThread


def test_it_listens_on_the_port_it_was_given_by_the_system_and_says_which() -> None:
    with SimulatorThread(Simulator(port=0)) as running:
        assert running.sim.port > 0
        socket.create_connection(("127.0.0.1", running.sim.port), timeout=5).close()


def test_a_port_taken_between_picking_and_binding_is_picked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        picks = iter([taken.getsockname()[1]])
        pick_free = simulator.free_port
        monkeypatch.setattr(simulator, "free_port", lambda: next(picks, None) or pick_free())
        with SimulatorThread(Simulator(port=0)) as running:
            socket.create_connection(("127.0.0.1", running.sim.port), timeout=5).close()
            assert running.sim._inner_port != taken.getsockname()[1]
