"""The Camunda 8 Orchestration Cluster REST API (v2) subset served by the embedded engine.

Shapes follow the Camunda 8.8 OpenAPI spec: keys are emitted as JSON strings (and accepted as
strings or integers), dates are RFC 3339 in UTC with milliseconds, errors are RFC 7807 problem
details, and every resource belongs to the ``<default>`` tenant unless told otherwise.

Judgment calls:

* **User task forms.** Camunda's ``formKey`` is the key of a *deployed* Camunda form; this engine
  deploys no forms, so the form reference of a user task (``zeebe:formDefinition formKey`` or
  ``formId``) is returned as ``externalFormReference`` and ``formKey`` is always ``null``.
* **Cursors** are base64 of the JSON array ``[offset]`` of the item in the sorted result.
* ``processDefinitionName`` and ``elementName`` fall back to the BPMN id when the model has no
  name.
"""
