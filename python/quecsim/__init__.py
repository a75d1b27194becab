"""Python helpers for quecsim, the simulated Quectel GSM module (standard library only)."""

from .control import Control, ControlError

__all__ = ["Control", "ControlError"]
