"""Webhook gateway: vendors' webhooks and exports in, contract events out.

`adapters` holds the pure half, one module per vendor: it checks a request's signature and
maps the vendor's payload (or one row of its CSV export) onto the event contract.
"""
