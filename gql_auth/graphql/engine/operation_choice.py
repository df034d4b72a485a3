"""Which operation of a document runs, per the GraphQL spec's GetOperation.

Strawberry runs the first operation when a document holds several and the
request names none, and answers an unknown name with a plain-text 400. A
request must say what it runs, so both are refused in the contract's shape.
"""

from __future__ import annotations

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode


def operation_refusal(document: DocumentNode, operation_name: str | None) -> GraphQLError | None:
    """None when exactly one operation is chosen, else the error that says why not."""
    operations = [
        node for node in document.definitions if isinstance(node, OperationDefinitionNode)
    ]
    if not operations:
        return _refusal("NO_OPERATION", "The document contains no operation to run.")
    if operation_name is None:
        if len(operations) > 1:
            return _refusal(
                "OPERATION_NAME_REQUIRED",
                "The document contains several operations: say which one in operationName.",
            )
        return None
    if not any(node.name is not None and node.name.value == operation_name for node in operations):
        return _refusal("UNKNOWN_OPERATION", "The document has no operation of that name.")
    return None


def _refusal(reason: str, message: str) -> GraphQLError:
    # The name a client sent is not echoed: it is free text of the client's.
    return GraphQLError(message, extensions={"code": "GRAPHQL_VALIDATION_FAILED", "reason": reason})
