"""Routing engine: from a short complaint text to the responsible agency."""

from routing.engine import Router, RoutingDecision, get_router
from routing.registry import AgencySpec, generate_agencies

__all__ = ["AgencySpec", "Router", "RoutingDecision", "generate_agencies", "get_router"]
