"""auditor: inventory, credential escrow and policy audit of a school district's social accounts."""

__version__ = "0.1.0"
