"""The Amazon side of shipfeed: shipment model, line rules, carriers, the feed writer,
the processing-report parser, the SP-API client and the local SP-API simulator.

Nothing here imports the rest of shipfeed, so it can be tested without files, networks
or databases wherever it is pure.
"""
