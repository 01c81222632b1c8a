"""Zeebe's gRPC gateway protocol (``gateway_protocol.Gateway``) served by the embedded engine.

Zeebe clients (pyzeebe, zbctl, the Java and Go clients) talk to ``processes.grpc.server`` as they
would to a Camunda 8 gateway: the commands run through ``processes.engine.service``, rejections
come back with the gRPC status codes Zeebe uses, and job activation long-polls. Start it with
``manage.py zeebe_gateway`` or, when ``ZEEBE_GATEWAY_ADDRESS`` is set, with ``manage.py serve``.
Protocol reference: https://docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/
"""
