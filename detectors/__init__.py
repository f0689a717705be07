"""Pure detection: a message and a context in, a verdict out. No I/O, no clock, no database.

    from detectors import classify, message_from_graph
    verdict = classify(message_from_graph(graph_json), Context())
"""
