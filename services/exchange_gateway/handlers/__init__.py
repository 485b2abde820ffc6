"""Gateway handlers: request/reply answers and the pollers that publish venue facts."""
