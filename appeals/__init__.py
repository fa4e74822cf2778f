"""Appeals (诉求) and their tickets: registry, routing, deadlines and the closed loop."""
