"""International fulfilment through customs: restrictions, duties and taxes, documents, broker,
carrier tracking. Part of the orders app (app label ``orders``)."""
