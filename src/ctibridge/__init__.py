"""ctibridge: computer-telephony integration middleware."""

__version__ = "0.1.0"
