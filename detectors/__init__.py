"""Pure detection: a message and a context in, a verdict out. No I/O, no clock, no database.

from detectors.classifier import Context, classify
from detectors.message import from_graph

verdict = classify(from_graph(graph_json), Context.build(tenant_domains=["contoso.com"]))
verdict.label, verdict.vendor, verdict.score, verdict.rules
"""
