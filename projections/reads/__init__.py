"""The read side of the projections: listings, reports and gauges over the live
generation, and the waits for a position (``min_position``)."""
