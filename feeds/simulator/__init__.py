"""A local Amazon over real HTTP: LWA, Feeds 2021-06-30, Orders v0 and S3-like documents.

The embedded default and the tests talk to it exactly as they would talk to Amazon, so
everything between shipfeed and the network is exercised for real.
"""

from feeds.simulator.app import Simulator, start_simulator
from feeds.simulator.config import FaultConfig, SimulatorConfig
from feeds.simulator.orderbook import Order, OrderBook, OrderItem, ShipmentRecord
from feeds.simulator.state import Counters

__all__ = [
    "Counters",
    "FaultConfig",
    "Order",
    "OrderBook",
    "OrderItem",
    "ShipmentRecord",
    "Simulator",
    "SimulatorConfig",
    "start_simulator",
]
