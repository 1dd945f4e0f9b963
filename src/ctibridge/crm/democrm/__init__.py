"""The built-in demo CRM served by the hub at /democrm (see docs/democrm.md)."""

from .app import DemoCrm, create_democrm, default_customers, mount_democrm

__all__ = ["DemoCrm", "create_democrm", "default_customers", "mount_democrm"]
