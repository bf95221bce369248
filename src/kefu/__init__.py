"""Kefu (客服): the customer-service platform for brokerages and trading platforms."""

__version__ = "0.1.0"
