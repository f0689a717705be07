"""Local simulators of the Microsoft identity platform and Graph mail, on loopback only.

Used by the tests, the demo and `outreach-monitor sandbox`: code that works against them
works against Microsoft (see ../shared/reference/graph_msal.md for the facts they honour).
"""
